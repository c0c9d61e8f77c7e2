//! libpq's TLS parameters (`sslmode`, `sslrootcert`) taken out of a `url`, in either of its
//! forms (`postgres://…?sslmode=require` or `host=… sslmode=require`), to become the same
//! settings as `tls` and `tls_ca_file`: the client library knows only three of libpq's modes
//! and no `sslrootcert`, and the plugin decides TLS itself. The rest of the URL is given to the
//! client library as it was.

use std::path::PathBuf;

use pmhlink_pdk::PluginError;
use pmhlink_sql::{TlsMode, TlsRoots, UrlTls};

/// A `url` without its TLS parameters, and what they said.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub url: String,
    pub tls: UrlTls,
}

/// Takes `sslmode` and `sslrootcert` out of `url`; libpq's other TLS parameters (a client
/// certificate, a CRL, …) are refused, naming the parameter. A URL that does not parse is
/// given back whole, for the client library to refuse.
pub fn split(url: &str) -> Result<Split, PluginError> {
    let (kept, params) = match ["postgres://", "postgresql://"]
        .iter()
        .find(|p| url.starts_with(*p))
    {
        Some(prefix) => split_url(url, prefix.len()),
        None => split_key_values(url),
    };
    let mut tls = UrlTls::default();
    for (key, value) in params {
        match key.as_str() {
            "sslmode" => {
                let mode = TlsMode::from_word(&value).ok_or_else(|| {
                    let why = if value == "allow" {
                        " (`allow`, plain first, is not supported: use `prefer` or stronger)"
                    } else {
                        ""
                    };
                    PluginError::config(format!(
                        "`url`'s `sslmode` is not one of `disable`, `prefer`, `require`, `verify-ca`, `verify-full`{why}"
                    ))
                    .at("url")
                })?;
                tls.mode = Some(("sslmode", mode));
            }
            "sslrootcert" => {
                let roots = match value.as_str() {
                    "" => {
                        return Err(PluginError::config("`url`'s `sslrootcert` is empty").at("url"));
                    }
                    "system" => TlsRoots::System,
                    path => TlsRoots::File(PathBuf::from(path)),
                };
                tls.roots = Some(("sslrootcert", roots));
            }
            other => {
                return Err(PluginError::config(format!(
                    "`url`'s `{other}` is not supported by this source: its TLS settings are `tls` and `tls_ca_file` (no client certificate yet)"
                ))
                .at("url"));
            }
        }
    }
    Ok(Split { url: kept, tls })
}

/// Whether a parameter is about TLS (libpq's `ssl…` parameters and the old `requiressl`).
fn is_tls(key: &str) -> bool {
    key.starts_with("ssl") || key == "requiressl"
}

/// The URL form: parameters after the `?` that follows the user part (as the client
/// library reads it: the user part ends at the first `@`), percent-decoded.
fn split_url(url: &str, prefix: usize) -> (String, Vec<(String, String)>) {
    let rest = &url[prefix..];
    let after_user = rest.find('@').map_or(0, |at| at + 1);
    let Some(question) = rest[after_user..]
        .find('?')
        .map(|q| prefix + after_user + q)
    else {
        return (url.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for segment in url[question + 1..].split('&') {
        let decoded = segment.split_once('=').and_then(|(k, v)| {
            let k = percent_encoding::percent_decode_str(k).decode_utf8().ok()?;
            let v = percent_encoding::percent_decode_str(v).decode_utf8().ok()?;
            Some((k.into_owned(), v.into_owned()))
        });
        match decoded {
            Some((k, v)) if is_tls(&k) => taken.push((k, v)),
            _ => kept.push(segment),
        }
    }
    if taken.is_empty() {
        return (url.to_owned(), taken);
    }
    let mut without = url[..question].to_owned();
    if !kept.is_empty() {
        without.push('?');
        without.push_str(&kept.join("&"));
    }
    (without, taken)
}

/// The `key=value` form, read as the client library reads it (a value quoted in `'…'` or
/// ending at white space, `\` escaping the next character); the parameters kept are written
/// back quoted. A string that does not read is given back whole.
fn split_key_values(url: &str) -> (String, Vec<(String, String)>) {
    let Some(params) = key_values(url) else {
        return (url.to_owned(), Vec::new());
    };
    if !params.iter().any(|(k, _)| is_tls(k)) {
        return (url.to_owned(), Vec::new());
    }
    let (taken, kept): (Vec<_>, Vec<_>) = params.into_iter().partition(|(k, _)| is_tls(k));
    let kept: Vec<String> = kept
        .into_iter()
        .map(|(k, v)| {
            let v = v.replace('\\', "\\\\").replace('\'', "\\'");
            format!("{k}='{v}'")
        })
        .collect();
    (kept.join(" "), taken)
}

fn key_values(s: &str) -> Option<Vec<(String, String)>> {
    let mut chars = s.chars().peekable();
    let mut params = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            return chars.peek().is_none().then_some(params);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\'') if quoted => break,
                Some(c) if !quoted && c.is_whitespace() => break,
                Some('\\') => value.push(chars.next()?),
                Some(c) => value.push(c),
                None if quoted => return None,
                None => break,
            }
        }
        if !quoted && value.is_empty() {
            return None;
        }
        params.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str) -> TlsRoots {
        TlsRoots::File(PathBuf::from(p))
    }

    #[test]
    fn the_tls_parameters_leave_the_url_in_either_form() {
        let cases: [(&str, &str, Option<TlsMode>, Option<TlsRoots>); 9] = [
            ("postgres://u@h/d", "postgres://u@h/d", None, None),
            (
                "postgres://u@h/d?sslmode=require",
                "postgres://u@h/d",
                Some(TlsMode::Require),
                None,
            ),
            (
                "postgresql://u:p%3Fw@h:5433/d?connect_timeout=5&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&application_name=a",
                "postgresql://u:p%3Fw@h:5433/d?connect_timeout=5&application_name=a",
                Some(TlsMode::VerifyFull),
                Some(file("/etc/ca x.pem")),
            ),
            // The user part ends at the first `@`, as the client library reads it.
            (
                "postgres://u:a?b@h/d?sslrootcert=system",
                "postgres://u:a?b@h/d",
                None,
                Some(TlsRoots::System),
            ),
            (
                "postgres://u@h?host=/run/x&sslmode=disable",
                "postgres://u@h?host=/run/x",
                Some(TlsMode::Disable),
                None,
            ),
            (
                "host=h user=u dbname=d",
                "host=h user=u dbname=d",
                None,
                None,
            ),
            (
                "host=h user = u sslmode=verify-ca password='a b\\'c' sslrootcert='/ca dir/ca.pem'",
                "host='h' user='u' password='a b\\'c'",
                Some(TlsMode::VerifyCa),
                Some(file("/ca dir/ca.pem")),
            ),
            // What does not read is left for the client library to refuse.
            (
                "host='h sslmode=require",
                "host='h sslmode=require",
                None,
                None,
            ),
            (
                "postgres://u@h/d?sslmode",
                "postgres://u@h/d?sslmode",
                None,
                None,
            ),
        ];
        for (url, without, mode, roots) in cases {
            let split = split(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(split.url, without, "{url}");
            assert_eq!(split.tls.mode.map(|(_, m)| m), mode, "{url}");
            assert_eq!(split.tls.roots.map(|(_, r)| r), roots, "{url}");
        }
        // What is kept still reads as the same settings.
        let kept: postgres::Config = "host='h' user='u' password='a b\\'c'".parse().unwrap();
        assert_eq!(kept.get_password(), Some(&b"a b'c"[..]));
    }

    #[test]
    fn other_tls_parameters_and_unknown_modes_are_refused_at_url() {
        for (url, words) in [
            ("postgres://u@h/d?sslmode=allow", "`allow`, plain first"),
            ("postgres://u@h/d?sslmode=verify", "is not one of"),
            ("postgres://u@h/d?sslrootcert=", "`sslrootcert` is empty"),
            (
                "postgres://u@h/d?sslcert=/c.pem",
                "`url`'s `sslcert` is not supported",
            ),
            ("host=h sslkey=/k.pem", "`url`'s `sslkey` is not supported"),
            ("postgres://u@h/d?sslnegotiation=direct", "`sslnegotiation`"),
        ] {
            let err = split(url).unwrap_err();
            assert_eq!(err.location.as_deref(), Some("url"), "{url}: {err}");
            assert!(err.message.contains(words), "{url}: {err}");
        }
    }
}
