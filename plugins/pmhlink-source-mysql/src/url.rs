//! The TLS parameters of a `mysql://` URL, as MySQL's clients spell them (`ssl-mode=REQUIRED`,
//! `ssl-ca=/etc/…/ca.pem`), taken out of it to become the same settings as `tls` and
//! `tls_ca_file`: the client library has TLS parameters of its own, with other meanings, and
//! the plugin decides TLS itself. Every other TLS parameter is refused, naming it; the rest of
//! the URL is given to the client library as it was.

use std::path::PathBuf;

use pmhlink_pdk::PluginError;
use pmhlink_sql::{TlsMode, TlsRoots, UrlTls};

/// A `url` without its TLS parameters, and what they said.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub url: String,
    pub tls: UrlTls,
}

/// The mode a MySQL client's `ssl-mode` word names (MySQL's words, in any case, `-` or `_`;
/// libpq's words, which `tls` takes, too).
fn mode(word: &str) -> Option<TlsMode> {
    Some(match word.to_ascii_lowercase().replace('-', "_").as_str() {
        "disabled" | "disable" => TlsMode::Disable,
        "preferred" | "prefer" => TlsMode::Prefer,
        "required" | "require" => TlsMode::Require,
        "verify_ca" => TlsMode::VerifyCa,
        "verify_identity" | "verify_full" => TlsMode::VerifyFull,
        _ => return None,
    })
}

/// The parameter's name for messages, when it is one of the two this takes: the spelling
/// given (lower-cased), as a name the URL could hold.
fn taken(key: &str) -> Option<(&'static str, bool)> {
    const MODES: [&str; 3] = ["ssl-mode", "ssl_mode", "sslmode"];
    const CAS: [&str; 3] = ["ssl-ca", "ssl_ca", "sslca"];
    let key = key.to_ascii_lowercase();
    MODES
        .iter()
        .find(|m| **m == key)
        .map(|m| (*m, true))
        .or_else(|| CAS.iter().find(|c| **c == key).map(|c| (*c, false)))
}

/// Whether a parameter is about TLS in some MySQL client's URL dialect (MySQL's `ssl-…` and
/// `tls-…` options, Connector/J's `useSSL`, the client library's own `require_ssl`,
/// `verify_identity`, `root_cert_path`, `danger_…`, …).
fn is_tls(normalised: &str) -> bool {
    [
        "ssl", "tls", "cert", "pkcs12", "cipher", "danger", "priv_key", "verify", "roots",
    ]
    .iter()
    .any(|word| normalised.contains(word))
}

/// Takes `ssl-mode` and `ssl-ca` (or `ssl_mode`, `sslmode`, `ssl_ca`, `sslca`) out of `url`;
/// the other TLS parameters (a client certificate, a cipher list, the client library's own)
/// are refused, naming the parameter, never its value. A URL that does not parse is given back
/// whole, for the client library to refuse.
pub fn split(url: &str) -> Result<Split, PluginError> {
    let mut tls = UrlTls::default();
    let Ok(mut parsed) = url::Url::parse(url) else {
        return Ok(Split {
            url: url.to_owned(),
            tls,
        });
    };
    if parsed.query().is_none() {
        return Ok(Split {
            url: url.to_owned(),
            tls,
        });
    }
    let mut kept = Vec::new();
    let mut any = false;
    for (key, value) in parsed.query_pairs().into_owned() {
        let normalised = key.to_ascii_lowercase().replace('-', "_");
        match taken(&key) {
            Some((name, true)) => {
                any = true;
                let m = mode(&value).ok_or_else(|| {
                    PluginError::config(format!(
                        "`url`'s `{name}` is not one of `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`"
                    ))
                    .at("url")
                })?;
                tls.mode = Some((name, m));
            }
            Some((name, false)) => {
                any = true;
                if value.is_empty() {
                    return Err(PluginError::config(format!("`url`'s `{name}` is empty")).at("url"));
                }
                tls.roots = Some((name, TlsRoots::File(PathBuf::from(value))));
            }
            None if is_tls(&normalised) => {
                return Err(PluginError::config(format!(
                    "`url`'s `{normalised}` is not supported by this source: its TLS settings are `tls` and `tls_ca_file` (or the `url`'s `ssl-mode` and `ssl-ca`; no client certificate yet)"
                ))
                .at("url"));
            }
            None => kept.push((key, value)),
        }
    }
    if !any {
        return Ok(Split {
            url: url.to_owned(),
            tls,
        });
    }
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    Ok(Split {
        url: parsed.into(),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str) -> TlsRoots {
        TlsRoots::File(PathBuf::from(p))
    }

    #[test]
    fn the_tls_parameters_leave_the_url() {
        /// A URL, the URL left, the mode with the parameter named, the CAs.
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<(&'a str, TlsMode)>,
            Option<TlsRoots>,
        );
        let cases: [Case<'_>; 8] = [
            ("mysql://u@h/d", "mysql://u@h/d", None, None),
            (
                "mysql://u@h/d?ssl-mode=REQUIRED",
                "mysql://u@h/d",
                Some(("ssl-mode", TlsMode::Require)),
                None,
            ),
            (
                "mysql://u@h:3307/d?ssl_mode=disabled&compress=true",
                "mysql://u@h:3307/d?compress=true",
                Some(("ssl_mode", TlsMode::Disable)),
                None,
            ),
            (
                "mysql://u:p%40w@h/d?sslMode=Verify_Identity&ssl-ca=%2Fetc%2Fca%20x.pem&socket=%2Frun%2Fm.sock",
                "mysql://u:p%40w@h/d?socket=%2Frun%2Fm.sock",
                Some(("sslmode", TlsMode::VerifyFull)),
                Some(file("/etc/ca x.pem")),
            ),
            (
                "mysql://u@h/d?ssl-ca=/ca.pem",
                "mysql://u@h/d",
                None,
                Some(file("/ca.pem")),
            ),
            (
                "mysql://u@h/d?sslmode=VERIFY_CA&sslca=/ca.pem",
                "mysql://u@h/d",
                Some(("sslmode", TlsMode::VerifyCa)),
                Some(file("/ca.pem")),
            ),
            // libpq's words, which `tls` takes, read the same.
            (
                "mysql://u@h/d?ssl-mode=prefer",
                "mysql://u@h/d",
                Some(("ssl-mode", TlsMode::Prefer)),
                None,
            ),
            // What does not parse is left for the client library to refuse.
            (
                "mysql://u@h:port/d?ssl-mode=REQUIRED",
                "mysql://u@h:port/d?ssl-mode=REQUIRED",
                None,
                None,
            ),
        ];
        for (url, without, mode, roots) in cases {
            let split = split(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(split.url, without, "{url}");
            assert_eq!(split.tls.mode, mode, "{url}");
            assert_eq!(split.tls.roots.map(|(_, r)| r), roots, "{url}");
        }
        // What is kept still reads as the same options.
        let kept = mysql::Opts::from_url(
            &split("mysql://u:p%40w@h/d?socket=%2Frun%2Fm%20x.sock&ssl-mode=REQUIRED")
                .unwrap()
                .url,
        )
        .unwrap();
        assert_eq!(kept.get_pass(), Some("p@w"));
        assert_eq!(kept.get_socket(), Some("/run/m x.sock"));
        assert!(kept.get_ssl_opts().is_none());
    }

    #[test]
    fn other_tls_parameters_and_unknown_modes_are_refused_at_url() {
        for (url, words) in [
            (
                "mysql://u@h/d?ssl-mode=secret-pw",
                "`url`'s `ssl-mode` is not one of",
            ),
            ("mysql://u@h/d?ssl-ca=", "`url`'s `ssl-ca` is empty"),
            (
                "mysql://u@h/d?ssl-cert=/secret-pw.pem",
                "`url`'s `ssl_cert` is not supported",
            ),
            ("mysql://u@h/d?ssl-key=/secret-pw.key", "`ssl_key`"),
            ("mysql://u@h/d?tls-version=TLSv1.3", "`tls_version`"),
            ("mysql://u@h/d?useSSL=true", "`usessl`"),
            ("mysql://u@h/d?require_ssl=true", "`require_ssl`"),
            ("mysql://u@h/d?verify_identity=true", "`verify_identity`"),
            (
                "mysql://u@h/d?root_cert_path=/secret-pw.pem",
                "`root_cert_path`",
            ),
            (
                "mysql://u@h/d?danger_accept_invalid_certs=true",
                "`danger_accept_invalid_certs`",
            ),
            ("mysql://u@h/d?built_in_roots=false", "`built_in_roots`"),
        ] {
            let err = split(url).unwrap_err();
            assert_eq!(err.location.as_deref(), Some("url"), "{url}: {err}");
            assert!(err.message.contains(words), "{url}: {err}");
            assert!(!err.message.contains("secret-pw"), "{url}: {err}");
        }
    }
}
