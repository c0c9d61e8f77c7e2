//! The TLS connector for the settled `tls` settings: rustls with ring, the server certificate
//! checked as libpq's `sslmode` says (not at all, its chain, or its chain and host name), and
//! a failed TLS handshake told as a message at the key to change, naming no more of the
//! certificate than an operator needs.

use std::sync::Arc;

use pmhlink_pdk::PluginError;
use pmhlink_sql::{Tls, TlsRoots};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector `tls` asks for, with the CA certificates read now: a file that is missing
/// or holds no certificate is refused when the source opens, at the key that named it.
pub fn connector(tls: &Tls) -> Result<MakeRustlsConnect, PluginError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = if tls.checks_chain() {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(tls)?), provider.clone())
                .build()
                .map_err(|e| {
                    PluginError::config(format!("the CA certificates cannot be used: {e}"))
                        .at(tls.roots_key().unwrap_or(tls.mode_key()))
                })?;
        if tls.checks_host() {
            webpki
        } else {
            Arc::new(ChainOnly(webpki))
        }
    } else {
        Arc::new(Unchecked(provider.signature_verification_algorithms))
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PluginError::other(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The CA certificates a server certificate must be signed by.
fn roots(tls: &Tls) -> Result<RootCertStore, PluginError> {
    let mut store = RootCertStore::empty();
    match &tls.roots {
        TlsRoots::File(path) => {
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
            for cert in certs {
                store.add(cert).map_err(|_| {
                    PluginError::config(format!(
                        "a certificate in the file {shown} names does not parse as an X.509 certificate"
                    ))
                    .at(key)
                })?;
            }
        }
        TlsRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(PluginError::config(format!(
                    "{} checks the server's certificate, and the system has no trusted roots: give the server's CA in `tls_ca_file`",
                    tls.mode_shown()
                ))
                .at(tls.mode_key()));
            }
        }
    }
    Ok(store)
}

/// `verify-ca` (and `prefer`/`require` with CA certificates): the chain as webpki checks it,
/// the name aside. The name is the last thing webpki checks, so a certificate refused only
/// for its name has a good chain.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without CA certificates (libpq's meaning): any certificate. The
/// handshake's signature is still checked against the certificate's key, so the session is
/// with whoever holds that key, but nothing says who that is.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// What went wrong with TLS on a connection attempt, if that is what failed.
pub enum Failure {
    /// The server answered that it does not do TLS.
    Refused,
    /// The TLS handshake failed; rustls's reason when it gave one.
    Handshake(Option<rustls::Error>),
}

/// `e` as a TLS failure, or `None` when the attempt failed otherwise.
pub fn failure(e: &postgres::Error) -> Option<Failure> {
    // tokio-postgres's words for its TLS errors: the kind is not public.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return None;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string() == "server does not support TLS" {
            return Some(Failure::Refused);
        }
        if let Some(rustls) = s.downcast_ref::<rustls::Error>() {
            return Some(Failure::Handshake(Some(rustls.clone())));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && let Some(rustls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(Failure::Handshake(Some(rustls.clone())));
        }
        source = s.source();
    }
    Some(Failure::Handshake(None))
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
                    "the server does not offer TLS, and {said}: turn on `ssl` on the server, or (only where the data may cross the network in clear) set `tls = \"disable\"`"
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
                        "the server's certificate is not signed by a CA the system trusts, and {said}: give the CA that signed it (for a self-signed certificate, the certificate itself) in `tls_ca_file`"
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
        "url" => "the `url`'s host (with `hostaddr` when that name does not resolve)",
        _ => "`host`",
    };
    format!(
        "the server's certificate is not for the host connected to{names}, and {}, which checks that: give a name the certificate is for as {connect_by}, or use `verify-ca`",
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
