//! TLS on the real MariaDB server at 127.0.0.1:3306 (`ssl_cert`/`ssl_key` with the certificate
//! Debian makes, self-signed, as `cargo xtask services` sets it up): each `tls` mode, and a
//! `url`'s `ssl-mode`/`ssl-ca`, connect as they should — the session's own `Ssl_cipher`,
//! read through the source's query, says whether it is encrypted — and each certificate or
//! refusal failure names its key. A server without TLS is the real server behind a front that
//! takes TLS out of the server's greeting, as such a server's greeting has it.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Db;
use mysql::prelude::Queryable;
use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_mysql::{Config, MysqlSource, open};
use serde_json::{Value, json};

fn source(config: Value) -> Result<MysqlSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

/// The session's cipher: empty when it is not encrypted.
const CIPHER: &str = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";

/// The server's certificate file (it is self-signed: its own CA), as the server says.
fn server_certificate() -> PathBuf {
    let (have_ssl, cert): (String, Option<String>) = common::admin(None)
        .query_first("SELECT @@have_ssl, @@ssl_cert")
        .unwrap()
        .unwrap();
    assert_eq!(
        have_ssl, "YES",
        "the MariaDB server at 127.0.0.1:3306 has TLS off: `cargo xtask services` turns it on"
    );
    PathBuf::from(cert.expect("the server names its certificate"))
}

/// The DNS names the server's certificate is for.
fn certificate_names() -> Vec<String> {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_file(server_certificate())
        .expect("a PEM certificate");
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    cert.valid_dns_names().map(str::to_owned).collect()
}

/// A PEM file of CAs that did not sign the server's certificate: Debian's bundle of the
/// public CAs.
fn other_cas() -> PathBuf {
    let bundle = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    assert!(
        bundle.is_file(),
        "Debian's ca-certificates bundle is missing"
    );
    bundle
}

/// A front on a port of its own for the server at 127.0.0.1:3306 whose greeting says the
/// server does no TLS (its `CLIENT_SSL` capability cleared), as a server without a
/// certificate greets, and passes all else through. Its threads stop within a minute, and each
/// connection's when either side closes.
fn front_without_tls() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match listener.accept() {
                Ok((client, _)) => {
                    std::thread::spawn(move || pass_through(client));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => return,
            }
        }
    });
    port
}

fn pass_through(mut client: TcpStream) {
    let _ = client.set_nonblocking(false);
    let Ok(mut server) = TcpStream::connect("127.0.0.1:3306") else {
        return;
    };
    let _ = server.set_read_timeout(Some(Duration::from_secs(30)));
    // The greeting: a packet header (3 bytes of length, 1 of sequence), the protocol version,
    // the server's version and a NUL, the connection id (4), the first scramble (8), a filler
    // (1), then the capabilities' low two bytes, little-endian: CLIENT_SSL is 0x0800.
    let mut header = [0u8; 4];
    if server.read_exact(&mut header).is_err() {
        return;
    }
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut greeting = vec![0u8; len];
    if server.read_exact(&mut greeting).is_err() {
        return;
    }
    let Some(nul) = greeting[1..].iter().position(|b| *b == 0) else {
        return;
    };
    let capabilities = 1 + nul + 1 + 4 + 8 + 1;
    if greeting.len() < capabilities + 2 {
        return;
    }
    greeting[capabilities + 1] &= !0x08;
    if client.write_all(&header).is_err() || client.write_all(&greeting).is_err() {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Both);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
}

/// The cipher the source's own session reads (`SHOW SESSION STATUS` through its query).
fn session_cipher(config: Value) -> String {
    let mut s = source(config.clone()).unwrap_or_else(|e| panic!("{config}: {e}"));
    s.check().unwrap_or_else(|e| panic!("{config}: check: {e}"));
    let read = read_to_end(&mut s, 10).unwrap_or_else(|e| panic!("{config}: {e}"));
    assert_eq!(read.errors(), [] as [(u64, &str); 0], "{config}");
    let cells = read.cells();
    assert_eq!(cells.len(), 1, "{config}: {cells:?}");
    assert_eq!(cells[0][0], "Ssl_cipher", "{config}");
    cells[0][1].to_owned()
}

/// Whether each config's session is encrypted, as the source's own session says.
fn encrypted(cases: Vec<(Value, bool)>) {
    for (config, tls) in cases {
        let cipher = session_cipher(config.clone());
        assert_eq!(!cipher.is_empty(), tls, "{config}: cipher {cipher:?}");
    }
}

#[test]
fn each_mode_connects_as_it_says() {
    let db = Db::new("");
    let ca = server_certificate();
    let url = db.url();
    let with = |extra: Value| {
        let mut config = json!({"url": url, "query": CIPHER});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    };
    let front = front_without_tls();
    let through_front = format!("mysql://root@127.0.0.1:{front}/{}", db.name);
    let mut cases: Vec<(Value, bool)> = vec![
        // No `tls`: require.
        (with(json!({})), true),
        (with(json!({"tls": "require"})), true),
        (with(json!({"tls": "prefer"})), true),
        (with(json!({"tls": "disable"})), false),
        (with(json!({"tls": "verify-ca", "tls_ca_file": ca})), true),
        // require with a CA file is verify-ca, and the CA is the right one.
        (with(json!({"tls": "require", "tls_ca_file": ca})), true),
        // prefer whose handshake fails (CAs that did not sign the certificate) goes plain,
        // as libpq does.
        (
            with(json!({"tls": "prefer", "tls_ca_file": other_cas()})),
            false,
        ),
        // The url's own words, as MySQL's clients write them, are the same settings.
        (
            json!({"url": format!("{url}?ssl-mode=REQUIRED"), "query": CIPHER}),
            true,
        ),
        (
            json!({"url": format!("{url}?ssl-mode=DISABLED"), "query": CIPHER}),
            false,
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY_CA&ssl-ca={}", ca.display()), "query": CIPHER}),
            true,
        ),
        (
            json!({"url": format!("{url}?ssl-ca={}", ca.display()), "query": CIPHER}),
            true,
        ),
        // Said twice, the same way: no conflict.
        (
            json!({"url": format!("{url}?sslmode=required"), "tls": "require", "query": CIPHER}),
            true,
        ),
        // A server without TLS: prefer goes plain.
        (
            json!({"url": through_front, "tls": "prefer", "query": CIPHER}),
            false,
        ),
        (
            json!({"url": through_front, "tls": "disable", "query": CIPHER}),
            false,
        ),
        // A Unix socket has no TLS, whatever `tls` says (as libpq).
        (
            json!({"url": format!("mysql://root@localhost/{}?socket=%2Frun%2Fmysqld%2Fmysqld.sock", db.name), "tls": "verify-full", "query": CIPHER}),
            false,
        ),
    ];
    // verify-full, by a name the certificate is for, when the name leads to 127.0.0.1 here.
    let names = certificate_names();
    let name = names
        .first()
        .expect("the server's certificate names a host");
    let resolves_here = (name.as_str(), 3306)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.any(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST));
    if resolves_here {
        cases.push((
            json!({"url": format!("mysql://root@{name}:3306/{}", db.name), "tls": "verify-full", "tls_ca_file": ca, "query": CIPHER}),
            true,
        ));
        cases.push((
            json!({"host": name, "database": db.name, "user": "root", "tls": "verify-full", "tls_ca_file": ca, "query": CIPHER}),
            true,
        ));
        cases.push((
            json!({"url": format!("mysql://root@{name}:3306/{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", db.name, ca.display()), "query": CIPHER}),
            true,
        ));
    } else {
        eprintln!(
            "`{name}`, the name the server's certificate is for, does not lead to 127.0.0.1 here: verify-full that passes not tried"
        );
    }
    encrypted(cases);
}

/// `config` fails `check` and the first `next_batch` alike, at `key`, with `kind` and
/// `words`, naming neither the host nor a file's path.
fn fails(config: &Value, key: &str, kind: RErrorKind, words: &str) {
    let s = source(config.clone()).unwrap();
    let Err(err) = s.check() else {
        panic!("{config}: check passed");
    };
    assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
    assert_eq!(err.kind, kind, "{config}: {err}");
    assert!(err.message.contains(words), "{config}: {err}");
    for secret in ["127.0.0.1", "/etc/", ".pem", ".crt"] {
        assert!(!err.message.contains(secret), "no value repeated: {err}");
    }
    let mut s = source(config.clone()).unwrap();
    let read = s.next_batch(10).unwrap_err();
    assert_eq!(
        (read.kind, read.location.as_deref(), read.message.as_str()),
        (kind, Some(key), err.message.as_str()),
        "{config}"
    );
}

/// (config, the key named, the kind, words of the message): each fails `check` and the
/// first `next_batch` alike, and names neither the host nor a file's path.
#[test]
fn every_tls_failure_names_its_key() {
    let db = Db::new("");
    let ca = server_certificate();
    let url = db.url();
    let front = front_without_tls();
    let through_front = format!("mysql://root@127.0.0.1:{front}/{}", db.name);
    let names = certificate_names();
    let cases: Vec<(Value, &str, RErrorKind, String)> = vec![
        (
            json!({"url": url, "tls": "verify-full", "tls_ca_file": ca, "query": CIPHER}),
            "tls",
            RErrorKind::Config,
            format!(
                "the server's certificate is not for the host connected to (it is for `{}`",
                names[0]
            ),
        ),
        (
            json!({"host": "127.0.0.1", "database": db.name, "user": "root", "tls": "verify-full", "tls_ca_file": ca, "query": CIPHER}),
            "tls",
            RErrorKind::Config,
            "give a name the certificate is for as `host`".into(),
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display()), "query": CIPHER}),
            "url",
            RErrorKind::Config,
            "and `url`'s `ssl-mode` is `verify-full`, which checks that: give a name the certificate is for as the `url`'s host".into(),
        ),
        // CAs that did not sign it.
        (
            json!({"url": url, "tls": "require", "tls_ca_file": other_cas(), "query": CIPHER}),
            "tls_ca_file",
            RErrorKind::Config,
            "the server's certificate is not signed by a CA of `tls_ca_file` (`tls` is `require`)".into(),
        ),
        (
            json!({"url": url, "tls": "verify-full", "tls_ca_file": other_cas(), "query": CIPHER}),
            "tls_ca_file",
            RErrorKind::Config,
            "not signed by a CA of `tls_ca_file` (`tls` is `verify-full`)".into(),
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY_CA&ssl-ca={}", other_cas().display()), "query": CIPHER}),
            "url",
            RErrorKind::Config,
            "not signed by a CA of `url`'s `ssl-ca` (`url`'s `ssl-mode` is `verify-ca`)".into(),
        ),
        // Without `tls_ca_file`, the public CAs: none signed a self-signed certificate.
        (
            json!({"url": url, "tls": "verify-ca", "query": CIPHER}),
            "tls",
            RErrorKind::Config,
            "the server's certificate is not signed by a public CA (the list built into the plugin), and `tls` is `verify-ca`: give the CA that signed it (for a self-signed certificate, the certificate itself) in `tls_ca_file`".into(),
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY_IDENTITY"), "query": CIPHER}),
            "url",
            RErrorKind::Config,
            "not signed by a public CA (the list built into the plugin), and `url`'s `ssl-mode` is `verify-full`".into(),
        ),
        // A server without TLS.
        (
            json!({"url": through_front, "query": CIPHER}),
            "tls",
            RErrorKind::Config,
            "the server does not offer TLS, and `tls` is `require` (the default): give the server a certificate".into(),
        ),
        (
            json!({"url": through_front, "tls": "verify-full", "tls_ca_file": ca, "query": CIPHER}),
            "tls",
            RErrorKind::Config,
            "does not offer TLS".into(),
        ),
        (
            json!({"url": format!("{through_front}?ssl-mode=REQUIRED"), "query": CIPHER}),
            "url",
            RErrorKind::Config,
            "and `url`'s `ssl-mode` is `require`".into(),
        ),
    ];
    for (config, key, kind, words) in cases {
        fails(&config, key, kind, &words);
    }
}

#[test]
fn tls_settings_that_cannot_work_are_refused_when_the_source_opens() {
    let dir = std::env::temp_dir().join(format!("pmhlink-my-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_pem = dir.join("notes.txt");
    std::fs::write(&not_pem, "the CA is on the file server\n").unwrap();
    let bad_base64 = dir.join("bad.pem");
    std::fs::write(
        &bad_base64,
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let not_a_cert = dir.join("junk.pem");
    std::fs::write(
        &not_a_cert,
        "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let missing = dir.join("missing.pem");
    let url = "mysql://root@127.0.0.1:3306/mysql";
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"url": url, "tls": "verify-ca", "tls_ca_file": missing, "query": "q"}),
            "tls_ca_file",
            "cannot read the file `tls_ca_file` names",
        ),
        (
            json!({"url": url, "tls_ca_file": not_pem, "query": "q"}),
            "tls_ca_file",
            "the file `tls_ca_file` names holds no certificate",
        ),
        (
            json!({"url": url, "tls_ca_file": bad_base64, "query": "q"}),
            "tls_ca_file",
            "the file `tls_ca_file` names is not PEM",
        ),
        (
            json!({"url": url, "tls_ca_file": not_a_cert, "query": "q"}),
            "tls_ca_file",
            "a certificate in the file `tls_ca_file` names does not parse",
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", missing.display()), "query": "q"}),
            "url",
            "cannot read the file `url`'s `ssl-ca` names",
        ),
        (
            json!({"url": format!("{url}?ssl-mode=DISABLED"), "tls": "require", "query": "q"}),
            "tls",
            "`tls` is `require` and `url`'s `ssl-mode` is `disable`: say it once",
        ),
        (
            json!({"url": format!("{url}?ssl-ca={}", not_pem.display()), "tls_ca_file": missing, "query": "q"}),
            "tls_ca_file",
            "`tls_ca_file` and `url`'s `ssl-ca` name different CA certificates",
        ),
        (
            json!({"url": url, "tls": "disable", "tls_ca_file": missing, "query": "q"}),
            "tls_ca_file",
            "but `tls` is `disable`",
        ),
        (
            json!({"url": format!("{url}?ssl-mode=DISABLED&ssl-ca={}", missing.display()), "query": "q"}),
            "url",
            "`url`'s `ssl-ca` names CA certificates, but `url`'s `ssl-mode` is `disable`",
        ),
        (
            json!({"url": format!("{url}?ssl-mode=VERIFY"), "query": "q"}),
            "url",
            "`url`'s `ssl-mode` is not one of `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`",
        ),
        (
            json!({"url": format!("{url}?ssl-cert=/c.pem&ssl-key=/k.pem"), "query": "q"}),
            "url",
            "`url`'s `ssl_cert` is not supported",
        ),
        (
            json!({"url": format!("{url}?require_ssl=true"), "query": "q"}),
            "url",
            "`url`'s `require_ssl` is not supported",
        ),
    ];
    for (config, key, words) in cases {
        let Err(err) = source(config.clone()) else {
            panic!("{config}: opened");
        };
        assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
        assert_eq!(err.kind, RErrorKind::Config, "{config}: {err}");
        assert!(err.message.contains(words), "{config}: {err}");
        assert!(!err.message.contains(&*dir.to_string_lossy()), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // Not a mode at all: refused as the pipeline file is read.
    let err = serde_json::from_value::<Config>(json!({"url": url, "tls": "verify", "query": "q"}))
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `verify`"),
        "{err}"
    );
}
