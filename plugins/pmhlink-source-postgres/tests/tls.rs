//! TLS on the real server at 127.0.0.1:5432 (`ssl = on` with the certificate Debian makes,
//! self-signed): each `tls` mode, and a `url`'s `sslmode`/`sslrootcert`, connect as libpq
//! would — the session's own row of `pg_stat_ssl`, read through the source's query, says
//! whether it is encrypted — and each certificate or refusal failure names its key. A server
//! with TLS off is the real server behind a front that answers the TLS request "no", as such
//! a server does.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Db;
use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_postgres::{Config, PostgresSource, open};
use serde_json::{Value, json};

fn source(config: Value) -> Result<PostgresSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

/// Whether the source's own session is encrypted: `1` or `0`.
const SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// The server's certificate file (it is self-signed: its own CA), as the server says.
fn server_certificate() -> PathBuf {
    let row = common::admin("postgres")
        .query_one(
            "SELECT current_setting('ssl'), current_setting('ssl_cert_file')",
            &[],
        )
        .unwrap();
    let (ssl, file): (String, String) = (row.get(0), row.get(1));
    assert_eq!(
        ssl, "on",
        "the server at 127.0.0.1:5432 has TLS off: `cargo xtask services` turns it on"
    );
    let data_dir: String = common::admin("postgres")
        .query_one("SELECT current_setting('data_directory')", &[])
        .unwrap()
        .get(0);
    let path = PathBuf::from(&file);
    if path.is_absolute() {
        path
    } else {
        PathBuf::from(data_dir).join(path)
    }
}

/// The DNS names the server's certificate is for.
fn certificate_names() -> Vec<String> {
    let pem = std::fs::read(server_certificate()).unwrap();
    let der = pem_to_der(&pem);
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    cert.valid_dns_names().map(str::to_owned).collect()
}

fn pem_to_der(pem: &[u8]) -> rustls::pki_types::CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem).expect("a PEM certificate")
}

/// A PEM file of CAs that did not sign the server's certificate: the system's roots.
fn other_cas() -> PathBuf {
    let bundle = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    assert!(
        bundle.is_file(),
        "Debian's ca-certificates bundle is missing"
    );
    bundle
}

/// A front on a port of its own for the server at 127.0.0.1:5432 that refuses TLS as a server
/// with `ssl = off` does (it answers the TLS request `N`) and passes all else through. Its
/// threads stop within a minute, and each connection's when either side closes.
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
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut first = [0u8; 8];
    if client.read_exact(&mut first).is_err() {
        return;
    }
    let pending: &[u8] = if first == SSL_REQUEST {
        if client.write_all(b"N").is_err() {
            return;
        }
        &[]
    } else {
        &first
    };
    let Ok(mut server) = TcpStream::connect("127.0.0.1:5432") else {
        return;
    };
    let _ = server.set_read_timeout(Some(Duration::from_secs(30)));
    if server.write_all(pending).is_err() {
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

/// The `ssl` cell the source's own session reads.
fn session_ssl(config: Value) -> String {
    let mut s = source(config.clone()).unwrap_or_else(|e| panic!("{config}: {e}"));
    s.check().unwrap_or_else(|e| panic!("{config}: check: {e}"));
    let read = read_to_end(&mut s, 10).unwrap_or_else(|e| panic!("{config}: {e}"));
    assert_eq!(read.errors(), [] as [(u64, &str); 0], "{config}");
    read.cells()[0][0].to_owned()
}

#[test]
fn each_mode_connects_as_libpq_would() {
    let db = Db::new("");
    let ca = server_certificate();
    let url = db.url();
    let with = |extra: Value| {
        let mut config = json!({"url": url, "query": SSL});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    };
    let front = front_without_tls();
    let through_front = format!("postgres://postgres@127.0.0.1:{front}/{}", db.name);
    let mut cases: Vec<(Value, &str)> = vec![
        // No `tls`: require.
        (with(json!({})), "1"),
        (with(json!({"tls": "require"})), "1"),
        (with(json!({"tls": "prefer"})), "1"),
        (with(json!({"tls": "disable"})), "0"),
        (with(json!({"tls": "verify-ca", "tls_ca_file": ca})), "1"),
        // require with a CA file is verify-ca, and the CA is the right one.
        (with(json!({"tls": "require", "tls_ca_file": ca})), "1"),
        // prefer whose handshake fails (CAs that did not sign the certificate) goes plain,
        // as libpq does.
        (
            with(json!({"tls": "prefer", "tls_ca_file": other_cas()})),
            "0",
        ),
        // The url's own words are the same settings.
        (
            json!({"url": format!("{url}?sslmode=require"), "query": SSL}),
            "1",
        ),
        (
            json!({"url": format!("{url}?sslmode=disable"), "query": SSL}),
            "0",
        ),
        (
            json!({"url": format!("{url}?sslmode=verify-ca&sslrootcert={}", ca.display()), "query": SSL}),
            "1",
        ),
        // Said twice, the same way: no conflict.
        (
            json!({"url": format!("{url}?sslmode=require"), "tls": "require", "query": SSL}),
            "1",
        ),
        // A server without TLS: prefer goes plain.
        (
            json!({"url": through_front, "tls": "prefer", "query": SSL}),
            "0",
        ),
        (
            json!({"url": through_front, "tls": "disable", "query": SSL}),
            "0",
        ),
        // A Unix socket has no TLS, whatever `tls` says (as libpq).
        (
            json!({"host": "/var/run/postgresql", "database": db.name, "user": "postgres", "tls": "verify-full", "query": SSL}),
            "0",
        ),
    ];
    // verify-full, by a name the certificate is for: connected to 127.0.0.1 by `hostaddr`,
    // and by `host` too when the name resolves to it here.
    let names = certificate_names();
    let name = names
        .first()
        .expect("the server's certificate names a host");
    cases.push((
        json!({
            "url": format!("postgres://postgres@{name}:5432/{}?hostaddr=127.0.0.1", db.name),
            "tls": "verify-full",
            "tls_ca_file": ca,
            "query": SSL
        }),
        "1",
    ));
    let resolves_here = (name.as_str(), 5432)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.any(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST));
    if resolves_here {
        cases.push((
            json!({"host": name, "database": db.name, "user": "postgres", "tls": "verify-full", "tls_ca_file": ca, "query": SSL}),
            "1",
        ));
    } else {
        eprintln!("`{name}` does not resolve to 127.0.0.1 here: verify-full by `host` not tried");
    }
    for (config, ssl) in cases {
        assert_eq!(session_ssl(config.clone()), ssl, "{config}");
    }
}

/// (config, the key named, the kind, words of the message): each fails `check` and the
/// first `next_batch` alike, and names neither the host nor a file's path.
#[test]
fn every_tls_failure_names_its_key() {
    let db = Db::new("");
    let ca = server_certificate();
    let url = db.url();
    let front = front_without_tls();
    let through_front = format!("postgres://postgres@127.0.0.1:{front}/{}", db.name);
    let names = certificate_names();
    let cases: Vec<(Value, &str, RErrorKind, String)> = vec![
        (
            json!({"url": url, "tls": "verify-full", "tls_ca_file": ca, "query": SSL}),
            "tls",
            RErrorKind::Config,
            format!(
                "the server's certificate is not for the host connected to (it is for `{}`",
                names[0]
            ),
        ),
        (
            json!({"host": "127.0.0.1", "database": db.name, "user": "postgres", "tls": "verify-full", "tls_ca_file": ca, "query": SSL}),
            "tls",
            RErrorKind::Config,
            "give a name the certificate is for as `host`".into(),
        ),
        (
            json!({"url": url, "tls": "require", "tls_ca_file": other_cas(), "query": SSL}),
            "tls_ca_file",
            RErrorKind::Config,
            "the server's certificate is not signed by a CA of `tls_ca_file` (`tls` is `require`)".into(),
        ),
        (
            json!({"url": format!("{url}?sslmode=verify-ca&sslrootcert={}", other_cas().display()), "query": SSL}),
            "url",
            RErrorKind::Config,
            "not signed by a CA of `url`'s `sslrootcert` (`url`'s `sslmode` is `verify-ca`)".into(),
        ),
        // A server without TLS.
        (
            json!({"url": through_front, "query": SSL}),
            "tls",
            RErrorKind::Config,
            "the server does not offer TLS, and `tls` is `require` (the default): turn on `ssl` on the server".into(),
        ),
        (
            json!({"url": through_front, "tls": "verify-full", "tls_ca_file": ca, "query": SSL}),
            "tls",
            RErrorKind::Config,
            "does not offer TLS".into(),
        ),
        (
            json!({"url": format!("{through_front}?sslmode=require"), "query": SSL}),
            "url",
            RErrorKind::Config,
            "and `url`'s `sslmode` is `require`".into(),
        ),
    ];
    for (config, key, kind, words) in cases {
        fails(&config, key, kind, &words);
    }
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

/// `verify-ca` and `verify-full` without `tls_ca_file` check the certificate against the
/// system's roots. Debian's `/etc/ssl/certs` holds the machine's own self-signed certificate
/// (hashed, as a CA), so this runs again as a process of its own whose system roots are
/// only the public CAs of Debian's bundle (`SSL_CERT_FILE`, which OpenSSL and
/// rustls-native-certs read), as on a machine that is not the server.
#[test]
fn the_systems_roots_refuse_a_certificate_they_did_not_sign() {
    const CHILD: &str = "PMHLINK_TLS_TEST_SYSTEM_ROOTS";
    if std::env::var_os(CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "the_systems_roots_refuse_a_certificate_they_did_not_sign",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env("SSL_CERT_FILE", other_cas())
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("1 passed"),
            "the test ran in its process: {text}"
        );
        return;
    }
    let db = Db::new("");
    let url = db.url();
    fails(
        &json!({"url": url, "tls": "verify-ca", "query": SSL}),
        "tls",
        RErrorKind::Config,
        "the server's certificate is not signed by a CA the system trusts, and `tls` is `verify-ca`: give the CA that signed it (for a self-signed certificate, the certificate itself) in `tls_ca_file`",
    );
    fails(
        &json!({"url": format!("{url}?sslmode=verify-full"), "query": SSL}),
        "url",
        RErrorKind::Config,
        "not signed by a CA the system trusts, and `url`'s `sslmode` is `verify-full`",
    );
    // libpq's word for the system's roots.
    fails(
        &json!({"url": format!("{url}?sslrootcert=system"), "query": SSL}),
        "url",
        RErrorKind::Config,
        "the server's certificate is not signed by a CA of `url`'s `sslrootcert`",
    );
    // With the server's certificate as the CA, the same connects.
    let ca = server_certificate();
    assert_eq!(
        session_ssl(json!({"url": url, "tls": "verify-ca", "tls_ca_file": ca, "query": SSL})),
        "1"
    );
}

#[test]
fn tls_settings_that_cannot_work_are_refused_when_the_source_opens() {
    let dir = std::env::temp_dir().join(format!("pmhlink-pg-tls-{}", std::process::id()));
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
    let url = "postgres://postgres@127.0.0.1:5432/postgres";
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
            json!({"url": format!("{url}?sslmode=verify-full&sslrootcert={}", missing.display()), "query": "q"}),
            "url",
            "cannot read the file `url`'s `sslrootcert` names",
        ),
        (
            json!({"url": format!("{url}?sslmode=disable"), "tls": "require", "query": "q"}),
            "tls",
            "`tls` is `require` and `url`'s `sslmode` is `disable`: say it once",
        ),
        (
            json!({"url": format!("{url}?sslrootcert={}", not_pem.display()), "tls_ca_file": missing, "query": "q"}),
            "tls_ca_file",
            "`tls_ca_file` and `url`'s `sslrootcert` name different CA certificates",
        ),
        (
            json!({"url": url, "tls": "disable", "tls_ca_file": missing, "query": "q"}),
            "tls_ca_file",
            "but `tls` is `disable`",
        ),
        (
            json!({"url": format!("{url}?sslcert=/c.pem&sslkey=/k.pem"), "query": "q"}),
            "url",
            "`url`'s `sslcert` is not supported",
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
