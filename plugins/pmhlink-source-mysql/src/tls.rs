//! TLS for the settled `tls` settings through the client library's rustls (with ring): the
//! client's TLS options for each mode, the CA file read when the source opens, the client's
//! built-in public CAs kept out where `tls_ca_file` names the CAs to trust, and a failed TLS
//! connection told as a message at the key to change.
//!
//! The client checks a certificate against its own root store: Mozilla's public CAs (the
//! `webpki-roots` list, built in) and the CAs of the file its options name, with no way to
//! leave the first out. So that `tls_ca_file` means "these CAs, and only these" (as libpq's
//! `sslrootcert`, and as the postgres source has it), the plugin makes the process's rustls
//! crypto provider ring with every signature check guarded: on a connection whose CAs are a
//! file's, a key of a built-in CA that the file does not hold verifies nothing, so no chain can
//! end at one. The client's other TLS work is ring's, unchanged.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::{Arc, LazyLock, OnceLock};

use mysql::SslOpts;
use pmhlink_pdk::PluginError;
use pmhlink_sql::{Tls, TlsMode, TlsRoots};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
};
use rustls::{CertificateError, RootCertStore, SignatureScheme};

/// What a source's connections do about TLS, settled when the source opens.
#[derive(Clone)]
pub struct Plan {
    /// The client's TLS options; `None` for a plain connection (`disable`).
    pub ssl_opts: Option<SslOpts>,
    /// `prefer`: a server without TLS, or a TLS handshake that fails, gets a plain session.
    pub falls_back: bool,
    /// The keys of built-in CAs that verify nothing on these connections.
    refused: Arc<Vec<Vec<u8>>>,
}

impl Plan {
    /// The plan for `tls`; a CA file that is missing or holds no certificate is refused here,
    /// at the key that named it.
    pub fn new(tls: &Tls) -> Result<Plan, PluginError> {
        if tls.mode == TlsMode::Disable {
            return Ok(Plan {
                ssl_opts: None,
                falls_back: false,
                refused: Arc::default(),
            });
        }
        install_provider()?;
        let mut opts = SslOpts::default();
        let mut refused = Arc::default();
        if tls.checks_chain() {
            match &tls.roots {
                TlsRoots::File(path) => {
                    let held = file_keys(tls, path)?;
                    refused = Arc::new(
                        BUILT_IN_KEYS
                            .iter()
                            .filter(|k| !held.contains(k))
                            .cloned()
                            .collect(),
                    );
                    opts = opts.with_root_cert_path(Some(path.clone()));
                }
                // The client's built-in roots: Mozilla's public CAs.
                TlsRoots::System => {}
            }
            opts = opts.with_danger_skip_domain_validation(!tls.checks_host());
        } else {
            opts = opts.with_danger_accept_invalid_certs(true);
        }
        Ok(Plan {
            ssl_opts: Some(opts),
            falls_back: tls.mode == TlsMode::Prefer,
            refused,
        })
    }

    /// Runs `connect` (a connection attempt, on a thread of its own) with this plan's CAs
    /// guarded; also says whether a built-in CA's key was refused in it.
    pub fn guarded<T>(&self, connect: impl FnOnce() -> T) -> (T, bool) {
        REFUSED.with(|r| *r.borrow_mut() = self.refused.clone());
        REFUSED_ONE.set(false);
        let result = connect();
        (result, REFUSED_ONE.get())
    }
}

/// The subjectPublicKey of each of the client's built-in CAs.
static BUILT_IN_KEYS: LazyLock<Arc<Vec<Vec<u8>>>> = LazyLock::new(|| {
    Arc::new(
        webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .filter_map(|a| key_bits(a.subject_public_key_info.as_ref()).map(<[u8]>::to_vec))
            .collect(),
    )
});

thread_local! {
    /// The built-in CAs' keys refused on this thread: all of them unless a connection attempt
    /// said otherwise.
    static REFUSED: RefCell<Arc<Vec<Vec<u8>>>> = RefCell::new(BUILT_IN_KEYS.clone());
    /// Whether a refused key was met since the attempt began.
    static REFUSED_ONE: Cell<bool> = const { Cell::new(false) };
}

/// The key bits of a `subjectPublicKeyInfo`'s value (its algorithm, then a BIT STRING), as a
/// signature check is given them.
fn key_bits(spki: &[u8]) -> Option<&[u8]> {
    let (_, rest) = der(spki, 0x30)?;
    let (bits, rest) = der(rest, 0x03)?;
    if !rest.is_empty() {
        return None;
    }
    bits.strip_prefix(&[0])
}

/// One DER element of `tag` at the start of `input`: its value and what follows.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81..=0x83 => {
            let n = usize::from(first - 0x80);
            let (bytes, rest) = (rest.get(..n)?, &rest[n..]);
            (
                bytes
                    .iter()
                    .fold(0usize, |len, b| (len << 8) | usize::from(*b)),
                rest,
            )
        }
        _ => return None,
    };
    Some((rest.get(..len)?, &rest[len..]))
}

/// A signature check that refuses the keys this thread's connection does not trust.
#[derive(Debug)]
struct Guarded(&'static dyn SignatureVerificationAlgorithm);

impl SignatureVerificationAlgorithm for Guarded {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if REFUSED.with(|r| r.borrow().iter().any(|k| k == public_key)) {
            REFUSED_ONE.set(true);
            return Err(InvalidSignature);
        }
        self.0.verify_signature(public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.0.fips()
    }
}

/// `algorithms`, each guarded (made once, for the process's life).
fn guard(algorithms: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    let wrap = |list: &'static [&'static dyn SignatureVerificationAlgorithm]| {
        let guarded: Vec<&'static dyn SignatureVerificationAlgorithm> = list
            .iter()
            .map(|a| {
                &*Box::leak(Box::new(Guarded(*a))) as &'static dyn SignatureVerificationAlgorithm
            })
            .collect();
        &*guarded.leak()
    };
    let mapping: Vec<(
        SignatureScheme,
        &'static [&'static dyn SignatureVerificationAlgorithm],
    )> = algorithms
        .mapping
        .iter()
        .map(|(scheme, list)| (*scheme, wrap(list)))
        .collect();
    WebPkiSupportedAlgorithms {
        all: wrap(algorithms.all),
        mapping: mapping.leak(),
    }
}

/// Makes ring, guarded, the process's crypto provider, which the client library uses for every
/// TLS connection (the plugin is a library of its own: the provider is its own rustls's). A
/// provider installed before, by anyone else, is refused: with it the guard would not hold.
fn install_provider() -> Result<(), PluginError> {
    // Where the guarded checks are: the default provider is the plugin's when its list is.
    static GUARDED: OnceLock<usize> = OnceLock::new();
    let ours = *GUARDED.get_or_init(|| {
        let mut provider = rustls::crypto::ring::default_provider();
        provider.signature_verification_algorithms =
            guard(provider.signature_verification_algorithms);
        let list = provider.signature_verification_algorithms.all.as_ptr() as usize;
        // Refused when another is installed: then the check below fails.
        let _ = provider.install_default();
        list
    });
    let installed = CryptoProvider::get_default()
        .map(|p| p.signature_verification_algorithms.all.as_ptr() as usize);
    if installed == Some(ours) {
        Ok(())
    } else {
        Err(PluginError::other(
            "cannot set up TLS: the process's TLS crypto provider is not the plugin's",
        ))
    }
}

/// The keys of the CA certificates in the file `tls` names, read now: a file that is missing,
/// not PEM or holds no certificate is refused at the key that named it, the path not shown.
fn file_keys(tls: &Tls, path: &Path) -> Result<Vec<Vec<u8>>, PluginError> {
    let key = tls.roots_key().unwrap_or("tls_ca_file");
    let shown = tls.roots_shown();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect())
        .map_err(|e| {
            let why = match e {
                rustls::pki_types::pem::Error::Io(io) => {
                    format!("cannot read the file {shown} names: {}", io.kind())
                }
                _ => format!("the file {shown} names is not PEM"),
            };
            PluginError::config(why).at(key)
        })?;
    if certs.is_empty() {
        return Err(PluginError::config(format!(
            "the file {shown} names holds no certificate (a PEM file of `-----BEGIN CERTIFICATE-----` blocks)"
        ))
        .at(key));
    }
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|_| {
            PluginError::config(format!(
                "a certificate in the file {shown} names does not parse as an X.509 certificate"
            ))
            .at(key)
        })?;
    }
    Ok(store
        .roots
        .iter()
        .filter_map(|a| key_bits(a.subject_public_key_info.as_ref()).map(<[u8]>::to_vec))
        .collect())
}

/// What went wrong with TLS on a connection attempt, if that is what failed.
pub enum Failure {
    /// The server does not offer TLS.
    Refused,
    /// The TLS handshake failed; rustls's reason when it gave one.
    Handshake(Option<rustls::Error>),
}

/// `e` as a TLS failure, or `None` when the attempt failed otherwise. `refused_one`: a
/// built-in CA's key was refused in the attempt (its chain then fails as a bad signature,
/// which is told as a certificate the CAs did not sign).
pub fn failure(e: &mysql::Error, refused_one: bool) -> Option<Failure> {
    let found = match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
            return Some(Failure::Refused);
        }
        mysql::Error::TlsError(mysql::error::tls::TlsError::Tls(e)) => Some(e.clone()),
        mysql::Error::TlsError(_) => return Some(Failure::Handshake(None)),
        _ => {
            let io = crate::connect::io_error(e)?;
            Some(
                io.get_ref()
                    .and_then(|i| i.downcast_ref::<rustls::Error>())?
                    .clone(),
            )
        }
    };
    Some(Failure::Handshake(found.map(|e| match e {
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) if refused_one => {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
        }
        other => other,
    })))
}

/// A TLS failure as a message at the key to change. Of the certificate, only the names it
/// is for are told (when they are not the host connected to), never the host itself.
pub fn message(tls: &Tls, failure: &Failure, connection_key: &str) -> PluginError {
    let said = tls.mode_said();
    let fail = |key: &str, words: String| PluginError::config(words).at(key);
    let e = match failure {
        Failure::Refused => {
            return fail(
                tls.mode_key(),
                format!(
                    "the server does not offer TLS, and {said}: give the server a certificate (`ssl_cert` and `ssl_key` in its options), or (only where the data may cross the network in clear) set `tls = \"disable\"`"
                ),
            );
        }
        Failure::Handshake(None) => {
            return PluginError::io(format!("the TLS handshake with the server failed ({said})"))
                .at(tls.mode_key());
        }
        Failure::Handshake(Some(e)) => e,
    };
    let roots_key = tls.roots_key().unwrap_or(tls.mode_key());
    let roots = tls.roots_shown();
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => fail(
                roots_key,
                if tls.roots_key().is_some() {
                    format!("the server's certificate is not signed by a CA of {roots} ({said})")
                } else {
                    format!(
                        "the server's certificate is not signed by a public CA (the list built into the plugin), and {said}: give the CA that signed it (for a self-signed certificate, the certificate itself) in `tls_ca_file`"
                    )
                },
            ),
            CertificateError::NotValidForName => {
                fail(tls.mode_key(), not_for_host(tls, &[], connection_key))
            }
            CertificateError::NotValidForNameContext { presented, .. } => {
                fail(tls.mode_key(), not_for_host(tls, presented, connection_key))
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => fail(
                tls.mode_key(),
                "the server's certificate has expired: the server needs a new one".to_owned(),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => fail(
                tls.mode_key(),
                "the server's certificate is not valid yet (is this machine's clock right?)"
                    .to_owned(),
            ),
            CertificateError::Revoked => fail(
                tls.mode_key(),
                "the server's certificate has been revoked".to_owned(),
            ),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                fail(
                    tls.mode_key(),
                    "the server's certificate is not one for a server (its extended key usage)"
                        .to_owned(),
                )
            }
            other => fail(
                roots_key,
                format!(
                    "the server's certificate is refused ({said}): {}",
                    certificate_problem(other)
                ),
            ),
        },
        other => PluginError::io(format!(
            "the TLS handshake with the server failed ({said}): {other}"
        ))
        .at(tls.mode_key()),
    }
}

/// `verify-full`'s refusal: the host connected to is not among the certificate's names (the
/// names are the certificate's, shown so the operator can connect by one of them).
fn not_for_host(tls: &Tls, presented: &[String], connection_key: &str) -> String {
    // rustls gives each name as webpki's debug form: `DnsName("db.example.lg.jp")`,
    // `IpAddress(192.0.2.1)`; other kinds of name are not ones to connect by.
    let presented: Vec<&str> = presented
        .iter()
        .filter_map(|n| {
            n.strip_prefix("DnsName(\"")
                .and_then(|n| n.strip_suffix("\")"))
                .or_else(|| {
                    n.strip_prefix("IpAddress(")
                        .and_then(|n| n.strip_suffix(')'))
                })
        })
        .collect();
    let names = if presented.is_empty() {
        String::new()
    } else {
        let shown: Vec<String> = presented.iter().take(5).map(|n| format!("`{n}`")).collect();
        let more = if presented.len() > 5 { ", …" } else { "" };
        format!(" (it is for {}{more})", shown.join(", "))
    };
    let connect_by = match connection_key {
        "url" => "the `url`'s host",
        _ => "`host`",
    };
    format!(
        "the server's certificate is not for the host connected to{names}, and {}, which checks that: give a name the certificate is for as {connect_by} (one that leads to the server from here: DNS, or the hosts file), or use `verify-ca`",
        tls.mode_said()
    )
}

/// A certificate problem other than the common ones, in words that quote nothing of the
/// certificate.
fn certificate_problem(e: &CertificateError) -> String {
    match e {
        CertificateError::BadEncoding => "it is not well formed".to_owned(),
        CertificateError::BadSignature
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "its signature is bad or of an algorithm not supported".to_owned()
        }
        _ => "it cannot be verified".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian's bundle of the public CAs (Mozilla's list, as the client's built-in one).
    const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

    /// Each built-in CA's key is read out of its `subjectPublicKeyInfo`: as many keys as CAs,
    /// each a key of the length its algorithm gives.
    #[test]
    fn every_built_in_cas_key_is_known() {
        assert_eq!(BUILT_IN_KEYS.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(BUILT_IN_KEYS.len() > 100, "{}", BUILT_IN_KEYS.len());
        for key in BUILT_IN_KEYS.iter() {
            // An uncompressed P-256 point (65 bytes) is the shortest; an RSA-4096 key ~526.
            assert!((65..=600).contains(&key.len()), "{}", key.len());
        }
        assert_eq!(
            der(&[0x30, 0x81, 0x02, 1, 2, 9], 0x30),
            Some((&[1u8, 2][..], &[9u8][..]))
        );
        assert_eq!(der(&[0x30, 0x82, 0x00], 0x30), None);
        assert_eq!(der(&[0x03, 0x01, 0x00], 0x30), None);
    }

    /// The guard on the signature checks themselves: a public CA's self-signature (its own
    /// certificate, from Debian's bundle of the same CAs) verifies with ring and with the
    /// guarded check, and is refused by the guarded check once the CA's key is among the
    /// refused ones, the refusal noted.
    #[test]
    fn a_refused_key_verifies_nothing() {
        install_provider().unwrap();
        let guarded = CryptoProvider::get_default().unwrap();
        let ring = rustls::crypto::ring::default_provider();
        let mut store = RootCertStore::empty();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(BUNDLE)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut checked = 0;
        for cert in &certs {
            store.roots.clear();
            store.add(cert.clone()).unwrap();
            let spki = store.roots[0].subject_public_key_info.as_ref();
            let (key_algorithm, _) = der(spki, 0x30).unwrap();
            let key = key_bits(spki).unwrap();
            if !BUILT_IN_KEYS.iter().any(|k| k == key) {
                continue;
            }
            let (tbs, algorithm, signature) = signed(cert.as_ref());
            let find = |list: &'static [&'static dyn SignatureVerificationAlgorithm]| {
                list.iter().copied().find(|a| {
                    a.signature_alg_id().as_ref() == algorithm
                        && a.public_key_alg_id().as_ref() == key_algorithm
                })
            };
            let (Some(plain), Some(checked_by)) = (
                find(ring.signature_verification_algorithms.all),
                find(guarded.signature_verification_algorithms.all),
            ) else {
                continue;
            };
            assert!(plain.verify_signature(key, tbs, signature).is_ok());
            REFUSED.with(|r| *r.borrow_mut() = Arc::default());
            assert!(checked_by.verify_signature(key, tbs, signature).is_ok());
            REFUSED.with(|r| *r.borrow_mut() = Arc::new(vec![key.to_vec()]));
            REFUSED_ONE.set(false);
            assert!(checked_by.verify_signature(key, tbs, signature).is_err());
            assert!(REFUSED_ONE.get());
            checked += 1;
        }
        assert!(checked > 50, "{checked} public CAs checked");
    }

    /// A certificate's signed part, its signature algorithm's value and its signature.
    fn signed(cert: &[u8]) -> (&[u8], &[u8], &[u8]) {
        let (body, _) = der(cert, 0x30).unwrap();
        let (_, after_tbs) = der(body, 0x30).unwrap();
        let tbs = &body[..body.len() - after_tbs.len()];
        let (algorithm, rest) = der(after_tbs, 0x30).unwrap();
        let (bits, _) = der(rest, 0x03).unwrap();
        (tbs, algorithm, &bits[1..])
    }
}
