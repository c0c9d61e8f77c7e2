//! The ledger's secrets: one master key, and the sub-keys derived from it for lookups,
//! encryption and key checking.
//!
//! Nothing here prints key material: `Debug` is redacted and errors name only the file or the
//! environment variable a key came from.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use hmac::{Hmac, Mac};
use pmhlink_model::CertificateId;
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

const KEY_LEN: usize = 32;
const HEX_LEN: usize = 2 * KEY_LEN;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A key file holds 64 hex characters and a newline; anything this long is not a key file.
const KEY_FILE_LIMIT: usize = 1024;

const LABEL_MAC: &[u8] = b"pmhlink-ledger/mac/v1";
const LABEL_ENC: &[u8] = b"pmhlink-ledger/enc/v1";
const LABEL_CHECK: &[u8] = b"pmhlink-ledger/check/v1";

fn random_bytes(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::getrandom(buf)
}

/// The ledger's 32-byte master key. Never in the pipeline file: from a key file or an
/// environment variable.
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<MasterKey, KeyError> {
        parse_hex(text).ok_or(KeyError::Malformed {
            origin: KeyOrigin::Text,
        })
    }

    /// The hex form from the environment variable `name`.
    pub fn from_env(name: &str) -> Result<MasterKey, KeyError> {
        let malformed = || KeyError::Malformed {
            origin: KeyOrigin::Env(name.to_owned()),
        };
        match std::env::var(name) {
            Ok(text) => parse_hex(&Zeroizing::new(text)).ok_or_else(malformed),
            Err(std::env::VarError::NotPresent) => Err(KeyError::EnvNotSet {
                name: name.to_owned(),
            }),
            // The raw value may be the key itself, so it is dropped, not reported.
            Err(std::env::VarError::NotUnicode(_)) => Err(malformed()),
        }
    }

    /// A key file holding the hex form. On Unix, a file readable by group or others is refused
    /// (say `chmod 600`).
    pub fn from_file(path: &Path) -> Result<MasterKey, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        // Checked on the open file, not the path, so the file read is the file checked.
        if !file.metadata().map_err(io)?.is_file() {
            return Err(KeyError::NotAFile {
                path: path.to_owned(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        let mut buf = Zeroizing::new([0u8; KEY_FILE_LIMIT]);
        let mut len = 0;
        loop {
            if len == KEY_FILE_LIMIT {
                return Err(KeyError::Malformed {
                    origin: KeyOrigin::File(path.to_owned()),
                });
            }
            match file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(parse_hex)
            .ok_or_else(|| KeyError::Malformed {
                origin: KeyOrigin::File(path.to_owned()),
            })
    }

    /// Creates a new random key file (mode 0600 on Unix); refuses to overwrite. The key is
    /// written and synced under a temporary name first and then linked into place, which fails
    /// if the file exists: a key file is either absent or whole, so a second process racing
    /// this one sees `AlreadyExists` and can read the winner's key.
    pub fn generate_file(path: &Path) -> Result<MasterKey, KeyError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(&mut key[..]).map_err(KeyError::Random)?;
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if path.exists() {
            return Err(KeyError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut nonce = [0u8; 8];
        random_bytes(&mut nonce).map_err(KeyError::Random)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(
            ".{}.{}.{:016x}.tmp",
            name.unwrap_or_default(),
            std::process::id(),
            u64::from_le_bytes(nonce)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io)?;
        let mut text = Zeroizing::new([0u8; HEX_LEN + 1]);
        write_hex(&key[..], &mut text[..HEX_LEN]);
        text[HEX_LEN] = b'\n';
        // A ledger sealed under a key that did not reach the disk is unreadable, so the key is
        // durable before it is handed out.
        let written = file.write_all(&text[..]).and_then(|()| file.sync_all());
        drop(file);
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        linked.map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => KeyError::AlreadyExists {
                path: path.to_owned(),
            },
            _ => io(e),
        })?;
        #[cfg(unix)]
        {
            // Best effort: some filesystems refuse to sync a directory, and the file is written.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(MasterKey(key))
    }

    /// The key in `path`, creating the file when there is none. Two processes doing this at
    /// once end with the same key: the one that loses the race reads the winner's file. The
    /// flag says whether this call created it.
    pub fn load_or_generate(path: &Path) -> Result<(MasterKey, bool), KeyError> {
        match MasterKey::generate_file(path) {
            Ok(key) => Ok((key, true)),
            Err(KeyError::AlreadyExists { .. }) => MasterKey::from_file(path).map(|k| (k, false)),
            Err(e) => Err(e),
        }
    }

    /// A random key that is never stored (for a dry run with no ledger yet).
    pub fn ephemeral() -> MasterKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(&mut key[..]).expect("the operating system's random source failed");
        MasterKey(key)
    }
}

fn parse_hex(text: &str) -> Option<MasterKey> {
    let text = text.trim().as_bytes();
    if text.len() != HEX_LEN {
        return None;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(MasterKey(key))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

/// Where a master key was read from, as error messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Text handed to [`MasterKey::from_hex`].
    Text,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::Text => f.write_str("ledger key"),
            KeyOrigin::File(path) => write!(f, "key file {}", path.display()),
            KeyOrigin::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// Why a master key could not be had. Names the file or variable, never key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("{origin}: expected 64 hexadecimal characters")]
    Malformed { origin: KeyOrigin },
    #[error(
        "key file {}: mode {mode:03o} lets group or others access it; restrict it with `chmod 600 {}`",
        .path.display(),
        .path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("key file {}: already exists; refusing to overwrite it", .path.display())]
    AlreadyExists { path: PathBuf },
    #[error("key file {}: is a folder or another non-regular file, not a key file", .path.display())]
    NotAFile { path: PathBuf },
    #[error("key file {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("environment variable {name} is not set")]
    EnvNotSet { name: String },
    #[error("no random bytes from the operating system: {0}")]
    Random(getrandom::Error),
}

/// Opening stored content failed: the tag did not verify, or the blob is too short to hold one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stored content failed authentication (wrong key or damaged ledger)")]
pub struct SealError;

/// Sub-keys derived from the master key by HMAC-SHA256(master, label) with distinct labels
/// ("pmhlink-ledger/mac/v1", "pmhlink-ledger/enc/v1", "pmhlink-ledger/check/v1"), so one secret
/// serves lookups and encryption without reuse.
///
/// Every value computed here is stored in ledgers: changing a label or the hash layout makes
/// existing ledgers unreadable, which the known-answer tests below guard against.
#[derive(Clone)]
pub struct Keys {
    /// Keyed once; each hash starts from a clone, saving the key schedule per call.
    mac: HmacSha256,
    cipher: Aes256Gcm,
    check: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

fn derive(master: &MasterKey, label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(&master.0[..]).expect("HMAC takes keys of any length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn put_part(mac: &mut HmacSha256, part: &[u8]) {
    mac.update(&(part.len() as u64).to_le_bytes());
    mac.update(part);
}

impl Keys {
    pub fn new(master: &MasterKey) -> Keys {
        let mac_key = derive(master, LABEL_MAC);
        let enc_key = derive(master, LABEL_ENC);
        let check = derive(master, LABEL_CHECK);
        Keys {
            mac: <HmacSha256 as Mac>::new_from_slice(&mac_key[..])
                .expect("HMAC takes keys of any length"),
            cipher: Aes256Gcm::new((&*enc_key).into()),
            check: *check,
        }
    }

    /// Keyed hash (HMAC-SHA256 with the mac sub-key, truncated to 16 bytes) over
    /// length-prefixed parts under a domain tag: distinct tags never collide, and
    /// ("ab","c") != ("a","bc").
    ///
    /// The message is the domain then each part, each preceded by its length as a
    /// little-endian u64, so it parses back in exactly one way.
    pub fn hash(&self, domain: &str, parts: &[&[u8]]) -> [u8; 16] {
        let mut mac = self.mac.clone();
        put_part(&mut mac, domain.as_bytes());
        for part in parts {
            put_part(&mut mac, part);
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// The row key: a certificate identity (type id, My Number, 公費受給者番号, サブキー) and its
    /// history key.
    pub fn row_key(&self, id: &CertificateId, history_key: &str) -> [u8; 16] {
        self.hash(
            "row",
            &[
                id.type_id.as_bytes(),
                id.my_number.expose().as_bytes(),
                id.recipient_number.as_bytes(),
                id.sub_key.as_bytes(),
                history_key.as_bytes(),
            ],
        )
    }

    /// Coarse identity of a certificate without its My Number: (公費受給者番号, サブキー).
    pub fn shield(&self, recipient_number: &str, sub_key: &str) -> [u8; 16] {
        self.hash("shield", &[recipient_number.as_bytes(), sub_key.as_bytes()])
    }

    /// A history key as the ledger keeps it: a result file's rows are matched to the batch they
    /// answer by these, without decrypting anything.
    pub fn history_key_hash(&self, history_key: &str) -> [u8; 16] {
        self.hash("history-key", &[history_key.as_bytes()])
    }

    /// A row's content digest.
    pub fn digest(&self, content: &[u8]) -> [u8; 16] {
        self.hash("content", &[content])
    }

    /// A value that proves the key without revealing it, stored in the ledger to tell a wrong
    /// key from a corrupt file. It is a sub-key of its own label, so knowing it says nothing
    /// about the others.
    pub fn check_value(&self) -> [u8; 32] {
        self.check
    }

    /// AES-256-GCM with a random 96-bit nonce; output = nonce ‖ ciphertext+tag. `aad` binds the
    /// ciphertext to its row (the row key), so blobs swapped between rows fail to open.
    ///
    /// Random nonces stay safe up to about 2³² seals under one key (NIST SP 800-38D); a
    /// ledger seals a few million rows a run. Each nonce is a fresh OS read (about a third of
    /// a 400-byte seal's cost): a buffered pool would be faster but a forked process would
    /// inherit it and repeat nonces.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce).expect("the operating system's random source failed");
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[NONCE_LEN..])
            .expect("AES-GCM refuses only inputs beyond 64 GiB");
        out.extend_from_slice(&tag);
        out
    }

    /// The plaintext of a [`Keys::seal`] output, if it was sealed with this key and `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut buf = ciphertext.to_vec();
        // aes-gcm verifies the tag before decrypting, so a failure leaves only ciphertext here.
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                &mut buf,
                Tag::from_slice(tag),
            )
            .map_err(|_| SealError)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use pmhlink_model::Pii;

    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn master() -> MasterKey {
        MasterKey::from_hex(HEX).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn id() -> CertificateId {
        CertificateId {
            type_id: "01".into(),
            my_number: Pii::new("987654321098".into()),
            recipient_number: "1234567".into(),
            sub_key: "01".into(),
        }
    }

    #[test]
    fn hex_parsing() {
        assert_eq!(master().0[..], (0u8..32).collect::<Vec<_>>()[..]);
        let upper = MasterKey::from_hex(&format!("  {}\n", HEX.to_uppercase())).unwrap();
        assert_eq!(upper.0[..], master().0[..]);

        let short = &HEX[..62];
        let bad_char = format!("{}g", &HEX[..63]);
        let long = format!("{HEX}00");
        let inner_space = format!("{} {}", &HEX[..32], &HEX[32..]);
        for bad in [short, &bad_char, &long, &inner_space, "", "é"] {
            let err = MasterKey::from_hex(bad).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert_eq!(
                err.to_string(),
                "ledger key: expected 64 hexadecimal characters"
            );
            assert!(!shown.contains("0a0b0c"), "key material in {shown}");
        }
    }

    #[test]
    fn env_var() {
        // Unique names: tests run in parallel and share the process environment.
        let name = "PMHLINK_KEYS_TEST_ENV_VAR_UNSET";
        let err = MasterKey::from_env(name).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("environment variable {name} is not set")
        );
    }

    #[cfg(unix)]
    fn write_key_file(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn key_file_mode_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.key");
        write_key_file(&path, &format!("{HEX}\n"), 0o644);
        let err = MasterKey::from_file(&path).unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, KeyError::TooOpen { mode: 0o644, .. }));
        assert!(shown.contains("chmod 600"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(shown.contains("mode 644"), "{shown}");
        assert!(!shown.contains("0a0b0c"));

        for mode in [0o640, 0o604, 0o620] {
            write_key_file(&path, HEX, mode);
            assert!(MasterKey::from_file(&path).is_err(), "{mode:o}");
        }
        for mode in [0o600, 0o400] {
            write_key_file(&path, &format!("{HEX}\r\n"), mode);
            assert_eq!(MasterKey::from_file(&path).unwrap().0[..], master().0[..]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn malformed_key_file_names_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.key");
        let almost = &HEX[..60];
        for text in [almost.to_owned(), "x".repeat(5000), format!("{HEX}{HEX}")] {
            write_key_file(&path, &text, 0o600);
            let err = MasterKey::from_file(&path).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "key file {}: expected 64 hexadecimal characters",
                    path.display()
                )
            );
            assert!(!format!("{err:?}").contains(almost));
        }
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            MasterKey::from_file(&path),
            Err(KeyError::Malformed { .. })
        ));

        let missing = dir.path().join("absent.key");
        let err = MasterKey::from_file(&missing).unwrap_err();
        assert!(matches!(err, KeyError::Io { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("key file {}:", missing.display()))
        );
    }

    #[test]
    fn generate_file_creates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.key");
        let made = MasterKey::generate_file(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(MasterKey::from_file(&path).unwrap().0[..], made.0[..]);

        let err = MasterKey::generate_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }));
        assert!(err.to_string().contains("refusing to overwrite"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        let other = MasterKey::generate_file(&dir.path().join("other.key")).unwrap();
        assert_ne!(other.0[..], made.0[..]);
    }

    /// Processes creating the key at the same moment all end with the one key that reached the
    /// disk, and no temporary file is left.
    #[test]
    fn racing_creators_share_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.key");
        let keys: Vec<(MasterKey, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| MasterKey::load_or_generate(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1);
        let on_disk = MasterKey::from_file(&path).unwrap();
        for (k, _) in &keys {
            assert_eq!(k.0[..], on_disk.0[..]);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the key file is left");
    }

    #[test]
    fn a_folder_where_the_key_file_should_be_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let err = MasterKey::from_file(dir.path()).unwrap_err();
        assert!(matches!(err, KeyError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("not a key file"), "{err}");
        assert!(!err.to_string().contains("mode"), "{err}");
    }

    #[test]
    fn ephemeral_keys_differ() {
        assert_ne!(MasterKey::ephemeral().0[..], MasterKey::ephemeral().0[..]);
    }

    #[test]
    fn seal_open_round_trip() {
        let keys = Keys::new(&master());
        for len in [0, 1, 15, 16, 17, 400, 5000] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = keys.seal(&plain, b"row-1");
            assert_eq!(sealed.len(), NONCE_LEN + len + TAG_LEN);
            assert_eq!(keys.open(&sealed, b"row-1").unwrap(), plain);
        }
    }

    #[test]
    fn open_refuses_anything_but_the_original() {
        let keys = Keys::new(&master());
        let plain = b"generated content 0001".to_vec();
        let sealed = keys.seal(&plain, b"row-1");

        let other = Keys::new(&MasterKey::ephemeral());
        assert_eq!(other.open(&sealed, b"row-1"), Err(SealError));
        assert_eq!(keys.open(&sealed, b"row-2"), Err(SealError));
        assert_eq!(keys.open(&sealed, b""), Err(SealError));
        for bit in 0..sealed.len() * 8 {
            let mut flipped = sealed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(keys.open(&flipped, b"row-1"), Err(SealError), "bit {bit}");
        }
        for len in 0..sealed.len() {
            assert_eq!(keys.open(&sealed[..len], b"row-1"), Err(SealError), "{len}");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(keys.open(&longer, b"row-1"), Err(SealError));

        let shown = format!("{} {:?}", SealError, SealError);
        assert!(shown.contains("wrong key or damaged ledger"));
        assert!(!shown.contains("generated"));
    }

    #[test]
    fn nonces_are_fresh() {
        let keys = Keys::new(&master());
        let a = keys.seal(b"same", b"aad");
        let b = keys.seal(b"same", b"aad");
        assert_ne!(a, b);
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        let nonces: std::collections::HashSet<Vec<u8>> = (0..10_000)
            .map(|_| keys.seal(b"", b"")[..NONCE_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 10_000);
    }

    #[test]
    fn hash_separates_domains_and_parts() {
        let keys = Keys::new(&master());
        let h = |d: &str, p: &[&[u8]]| keys.hash(d, p);
        assert_ne!(h("row", &[b"ab", b"c"]), h("row", &[b"a", b"bc"]));
        assert_ne!(h("row", &[b"abc"]), h("row", &[b"ab", b"c"]));
        assert_ne!(h("row", &[b""]), h("row", &[]));
        assert_ne!(h("row", &[b"", b""]), h("row", &[b""]));
        assert_ne!(h("row", &[b"x"]), h("shield", &[b"x"]));
        // The domain is length-prefixed too: a tag cannot absorb the start of a part.
        assert_ne!(h("ro", &[b"wx"]), h("row", &[b"x"]));
        assert_eq!(h("row", &[b"x"]), h("row", &[b"x"]));

        let c = id();
        assert_ne!(keys.row_key(&c, "h1"), keys.row_key(&c, "h2"));
        assert_ne!(
            keys.row_key(&c, "h1"),
            keys.hash("shield", &[b"1234567", b"01"])
        );
        assert_eq!(
            keys.shield("1234567", "01"),
            keys.hash("shield", &[b"1234567", b"01"])
        );
        assert_ne!(keys.shield("123456", "701"), keys.shield("1234567", "01"));
        assert_ne!(keys.digest(b"x"), keys.hash("row", &[b"x"]));

        let other = Keys::new(&MasterKey::ephemeral());
        assert_ne!(other.digest(b"x"), keys.digest(b"x"));
        assert_ne!(other.check_value(), keys.check_value());
        assert_eq!(Keys::new(&master()).check_value(), keys.check_value());
    }

    // Values stored in every ledger: computed independently (Python hmac/hashlib and
    // cryptography's AESGCM) from the construction documented above.
    #[test]
    fn known_answers() {
        let keys = Keys::new(&master());
        assert_eq!(hex(&keys.check_value()), KAT_CHECK);
        assert_eq!(hex(&keys.row_key(&id(), "h1")), KAT_ROW);
        assert_eq!(hex(&keys.shield("1234567", "01")), KAT_SHIELD);
        assert_eq!(hex(&keys.digest(b"content")), KAT_DIGEST);
        let sealed: Vec<u8> = (0..KAT_SEALED.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&KAT_SEALED[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(keys.open(&sealed, b"row-aad").unwrap(), b"sealed text");
    }

    const KAT_CHECK: &str = "5eaec9815566893aca7fc492bfcda4f4a72b81ae35beb02f51d81b09af11199a";
    const KAT_ROW: &str = "288b85e91aaa583ae5117c3e5a4de8da";
    const KAT_SHIELD: &str = "a945223caf7c173d9ead5cc83452021b";
    const KAT_DIGEST: &str = "f6906ecc7b8bf0985599351ed65caaed";
    const KAT_SEALED: &str =
        "6465666768696a6b6c6d6e6f97af33b15ac69c8e45679482e37b949434c668e87163dfd1c51b77";

    #[test]
    fn debug_shows_no_key_material() {
        let m = master();
        let keys = Keys::new(&m);
        let shown = format!("{m:?} {keys:?}");
        assert_eq!(shown, "MasterKey(<redacted>) Keys(<redacted>)");
    }

    #[test]
    fn keys_are_shareable() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Keys>();
    }

    /// `cargo test -p pmhlink-ledger --release -- --ignored --nocapture`
    #[test]
    #[ignore = "throughput measurement, run in release"]
    fn seal_open_throughput() {
        const ROWS: usize = 1_800_000;
        const SIZE: usize = 400;
        let keys = Keys::new(&MasterKey::ephemeral());
        let plain = vec![0x5au8; SIZE];
        let secs = |t: std::time::Instant| t.elapsed().as_secs_f64();

        let start = std::time::Instant::now();
        let aads: Vec<[u8; 16]> = (0..ROWS)
            .map(|i| keys.hash("row", &[&i.to_le_bytes()]))
            .collect();
        let hash = secs(start);

        let start = std::time::Instant::now();
        let mut sealed_bytes = 0;
        for aad in &aads {
            sealed_bytes += std::hint::black_box(keys.seal(&plain, aad)).len();
        }
        let seal = secs(start);
        assert_eq!(sealed_bytes, ROWS * (NONCE_LEN + SIZE + TAG_LEN));

        let blob = keys.seal(&plain, b"fixed");
        let start = std::time::Instant::now();
        let mut opened = 0;
        for _ in 0..ROWS {
            opened += keys.open(&blob, b"fixed").unwrap().len();
        }
        let open = secs(start);
        assert_eq!(opened, ROWS * SIZE);

        let start = std::time::Instant::now();
        for _ in 0..ROWS {
            let mut nonce = [0u8; NONCE_LEN];
            random_bytes(&mut nonce).unwrap();
            std::hint::black_box(nonce);
        }
        let nonce = secs(start);

        let mb = (ROWS * SIZE) as f64 / 1e6;
        println!(
            "{ROWS} x {SIZE} B: seal {seal:.2}s ({:.0} MB/s), open {open:.2}s ({:.0} MB/s), \
             seal+open {:.0} MB/s; nonces alone {nonce:.2}s (seal without them {:.0} MB/s); \
             row keys {hash:.2}s",
            mb / seal,
            mb / open,
            2.0 * mb / (seal + open),
            mb / (seal - nonce),
        );
    }
}
