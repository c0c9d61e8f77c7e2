//! The `pmh-api` sink's configuration (its doc comments are the plugin's schema and its page,
//! `docs/plugins/pmh-api.md`), and the checks that need no network.
//!
//! Every message names a key, never a value: besides secrets, pmhlink replaces `${VAR}` in
//! config strings before the plugin sees them, so an operator who wrote
//! `token_env = "${PMH_TOKEN}"` hands the token itself to a key meant for a variable name.

use std::{fs, net::IpAddr, path::PathBuf, time::Duration};

use pmhlink_pdk::PluginError;
use pmhlink_profile::Profile;
use reqwest::{Certificate, NoProxy, Proxy, Url};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::backoff::Backoff;
use crate::routes::Routes;

/// # pmh-api sink
///
/// Registers each payload with PMH's registration API (POST, bearer token,
/// `Idempotency-Key: {run_id}-{seq}`) and polls the matching result API. Paths, methods and
/// the result format come from the interface profile. Exactly one of `token_env`,
/// `token_file` and `oauth2` gives the credentials.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// PMH's API root, e.g. `https://pmh.example.lg.jp`; the profile's paths are appended.
    /// https only: `http://` is accepted for 127.0.0.1 and localhost, elsewhere only with
    /// `allow_insecure_http`.
    #[schemars(length(min = 1))]
    pub base_url: String,
    /// Allow `http://` to a host other than the local machine. LGWAN is not the open
    /// internet, but a bearer token must never cross a network in the clear by accident; set
    /// this only for a test hub on a closed segment.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The name of the environment variable holding the bearer token (the name, not the
    /// token).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub token_env: Option<String>,
    /// A file holding the bearer token (surrounding whitespace is trimmed); relative to the
    /// pipeline's folder.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub token_file: Option<PathBuf>,
    /// OAuth2 client credentials: the access token is fetched from `token_url`, kept until
    /// shortly before it expires, and fetched again once if PMH answers 401.
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
    /// A PEM file of extra root certificates to trust besides the system's (an LGWAN CA, for
    /// example).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub ca_bundle: Option<PathBuf>,
    /// The HTTP proxy every request goes through, e.g. `http://proxy.lg.example:8080`.
    /// Without it no proxy is used, whatever `HTTP(S)_PROXY` says: the pipeline file states
    /// the whole route (write `proxy = "${HTTPS_PROXY}"` to take the environment's).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub proxy: Option<String>,
    /// Comma-separated hosts, domains or networks reached directly despite `proxy`.
    #[serde(default)]
    pub no_proxy: Option<String>,
    /// Time limit of one request in seconds, from connecting to the end of the answer (more
    /// than 0, at most 3600).
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 0, max = 3600))]
    pub timeout_secs: f64,
    /// Time limit for opening a connection (TCP and TLS), in seconds (more than 0, at most
    /// 3600).
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 0, max = 3600))]
    pub connect_timeout_secs: f64,
    /// The longest pause before the first retry, in seconds; it doubles with each failure (a
    /// random pause below it is taken). More than 0, at most 3600.
    #[serde(default = "default_backoff_base")]
    #[schemars(range(min = 0, max = 3600))]
    pub backoff_base_secs: f64,
    /// The longest pause between two tries, in seconds, including one PMH asks for with
    /// `Retry-After` (a longer Retry-After is cut to this). More than 0, at most 3600.
    #[serde(default = "default_backoff_max")]
    #[schemars(range(min = 0, max = 3600))]
    pub backoff_max_secs: f64,
    /// Tries of one request in all before the run stops (429, 500, 502, 503, 504, connection
    /// failures and timeouts are retried).
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// An interface profile of your own (a vendor's corrected paths and result format);
    /// relative to the pipeline's folder. Without it, the built-in profile.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub profile: Option<PathBuf>,
}

/// OAuth2 client credentials.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The token endpoint (https, as `base_url`).
    #[schemars(length(min = 1))]
    pub token_url: String,
    /// The client id PMH issued.
    #[schemars(length(min = 1))]
    pub client_id: String,
    /// The name of the environment variable holding the client secret.
    #[schemars(length(min = 1))]
    pub client_secret_env: String,
    /// The scope to ask for, if PMH wants one.
    #[serde(default)]
    pub scope: Option<String>,
}

fn default_timeout() -> f64 {
    60.0
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_backoff_base() -> f64 {
    0.5
}
fn default_backoff_max() -> f64 {
    30.0
}
fn default_max_attempts() -> u32 {
    6
}

/// Where the bearer token comes from.
pub enum Credentials {
    /// A static token, and the key it was configured with (named when PMH refuses it).
    Token { token: String, key: &'static str },
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

/// A configuration checked and loaded: everything the sink needs except the network.
pub struct Settings {
    pub link: Link,
    pub routes: Routes,
}

/// How to reach PMH and prove who we are.
pub struct Link {
    /// Without a trailing `/`; the profile's paths (which start with one) are appended.
    pub base_url: String,
    /// `scheme://host[:port]`: how messages name PMH.
    pub origin: String,
    pub credentials: Credentials,
    pub roots: Vec<Certificate>,
    pub proxy: Option<Proxy>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub backoff: Backoff,
    /// Every secret value the configuration brought in, so messages can be scrubbed of them.
    pub secrets: Vec<String>,
}

fn bad(key: &str, what: impl std::fmt::Display) -> PluginError {
    PluginError::config(format!("config `{key}`: {what}")).at(key)
}

/// The machine itself: traffic to it never crosses a network.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// An http(s) endpoint PMH's secrets may be sent to.
fn endpoint(key: &str, text: &str, allow_insecure_http: bool) -> Result<Url, PluginError> {
    let url = Url::parse(text).map_err(|e| {
        bad(
            key,
            format!("not a URL ({e}); expected https://<host>[:port][/path]"),
        )
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad(key, "expected an https:// URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // They would be sent to PMH as Basic credentials and printed wherever a URL is.
        return Err(bad(
            key,
            "must not hold a user name or password; credentials go in token_env, token_file or oauth2",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(key, "must not have a query (`?…`) or fragment (`#…`)"));
    }
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        // LGWAN is a closed network, not a trusted wire: a bearer token in clear text can be
        // read by anything on the path, so plain http needs an explicit decision.
        return Err(bad(
            key,
            "http:// is allowed only for 127.0.0.1 and localhost; use https:// (or set allow_insecure_http = true for a test hub on a closed segment)",
        ));
    }
    Ok(url)
}

fn env_name(key: &str, name: &str) -> Result<(), PluginError> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(bad(
            key,
            "must be the name of an environment variable (letters, digits and _), not the secret itself",
        ))
    }
}

/// A secret from the environment variable `key` names: set, and not blank.
fn from_env(
    key: &str,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, PluginError> {
    env_name(key, name)?;
    env(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            bad(
                key,
                "the environment variable it names is not set or is empty",
            )
        })
}

/// Header values are visible ASCII; a token with anything else cannot be sent.
fn sendable(key: &str, token: &str) -> Result<(), PluginError> {
    if token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(bad(
            key,
            "the token holds spaces, control or non-ASCII characters, which a bearer token cannot",
        ))
    }
}

fn secs(key: &str, value: f64, at_least: f64) -> Result<Duration, PluginError> {
    if value.is_finite() && value > 0.0 && value >= at_least && value <= 3600.0 {
        Ok(Duration::from_secs_f64(value))
    } else if value < at_least {
        Err(bad(key, "must not be below backoff_base_secs"))
    } else {
        Err(bad(
            key,
            "expected a number of seconds above 0 and at most 3600",
        ))
    }
}

impl Config {
    /// Checks and loads what needs no network: URLs, the credentials' source, the CA bundle,
    /// the proxy, the numbers and the profile. `env` reads an environment variable (tests
    /// pass their own; the plugin passes `std::env::var`).
    pub fn settle(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, PluginError> {
        let base = endpoint("base_url", &self.base_url, self.allow_insecure_http)?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let origin = base.origin().ascii_serialization();
        let mut secrets = Vec::new();

        let given: Vec<&str> = [
            ("token_env", self.token_env.is_some()),
            ("token_file", self.token_file.is_some()),
            ("oauth2", self.oauth2.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        match given.as_slice() {
            [_] => {}
            [] => {
                return Err(PluginError::config(
                    "config: set exactly one of `token_env`, `token_file` or `oauth2` (none is set)",
                ));
            }
            [first, second, ..] => {
                return Err(PluginError::config(format!(
                    "config: set exactly one of `token_env`, `token_file` or `oauth2` (`{first}` and `{second}` are both set)"
                ))
                .at(*second));
            }
        }
        let credentials = if let Some(name) = &self.token_env {
            let token = from_env("token_env", name, env)?;
            sendable("token_env", &token)?;
            secrets.push(token.clone());
            Credentials::Token {
                token,
                key: "token_env",
            }
        } else if let Some(path) = &self.token_file {
            let text = fs::read_to_string(path)
                .map_err(|e| bad("token_file", format!("cannot read the file it names: {e}")))?;
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(bad("token_file", "the file it names is empty"));
            }
            sendable("token_file", &token)?;
            secrets.push(token.clone());
            Credentials::Token {
                token,
                key: "token_file",
            }
        } else {
            let oauth = self.oauth2.as_ref().expect("exactly one credential source");
            let token_url = endpoint(
                "oauth2.token_url",
                &oauth.token_url,
                self.allow_insecure_http,
            )?;
            if oauth.client_id.trim().is_empty() {
                return Err(bad("oauth2.client_id", "must not be empty"));
            }
            let client_secret =
                from_env("oauth2.client_secret_env", &oauth.client_secret_env, env)?;
            secrets.push(client_secret.clone());
            Credentials::OAuth2 {
                token_url: token_url.to_string(),
                client_id: oauth.client_id.clone(),
                client_secret,
                scope: oauth.scope.clone().filter(|s| !s.trim().is_empty()),
            }
        };

        let mut roots = Vec::new();
        if let Some(path) = &self.ca_bundle {
            let pem = fs::read(path)
                .map_err(|e| bad("ca_bundle", format!("cannot read the file it names: {e}")))?;
            roots = Certificate::from_pem_bundle(&pem).map_err(|_| {
                bad(
                    "ca_bundle",
                    "the file it names is not a PEM certificate bundle",
                )
            })?;
            if roots.is_empty() {
                return Err(bad(
                    "ca_bundle",
                    "the file it names holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                ));
            }
        }

        let proxy = match &self.proxy {
            None => {
                if self.no_proxy.is_some() {
                    return Err(bad("no_proxy", "is only meaningful with `proxy`"));
                }
                None
            }
            Some(text) => {
                let url = Url::parse(text).map_err(|e| {
                    bad(
                        "proxy",
                        format!("not a URL ({e}); expected http://<host>:<port>"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(bad(
                        "proxy",
                        "expected an http:// or https:// URL with a host",
                    ));
                }
                if let Some(password) = url.password() {
                    secrets.push(password.to_owned());
                }
                let proxy = Proxy::all(url)
                    .map_err(|_| bad("proxy", "not usable as a proxy URL"))?
                    .no_proxy(self.no_proxy.as_deref().and_then(NoProxy::from_string));
                Some(proxy)
            }
        };

        let timeout = secs("timeout_secs", self.timeout_secs, 0.0)?;
        let connect_timeout = secs("connect_timeout_secs", self.connect_timeout_secs, 0.0)?;
        let base = secs("backoff_base_secs", self.backoff_base_secs, 0.0)?;
        let max = secs(
            "backoff_max_secs",
            self.backoff_max_secs,
            self.backoff_base_secs,
        )?;
        if !(1..=100).contains(&self.max_attempts) {
            return Err(bad("max_attempts", "expected 1 to 100"));
        }
        let backoff = Backoff {
            base,
            max,
            max_attempts: self.max_attempts,
        };

        let profile = match &self.profile {
            None => Profile::builtin(),
            Some(path) => Profile::load(path).map_err(|e| match e {
                pmhlink_profile::ProfileError::Read { source, .. } => bad(
                    "profile",
                    format!("cannot read the file it names: {source}"),
                ),
                pmhlink_profile::ProfileError::Parse { message, .. } => bad(
                    "profile",
                    format!("the file it names is not a valid profile: {message}"),
                ),
                pmhlink_profile::ProfileError::Incoherent { message, .. } => bad(
                    "profile",
                    format!("the file it names is not coherent: {message}"),
                ),
            })?,
        };
        let routes = Routes::new(&profile).map_err(|why| bad("profile", why))?;

        Ok(Settings {
            link: Link {
                base_url,
                origin,
                credentials,
                roots,
                proxy,
                timeout,
                connect_timeout,
                backoff,
                secrets,
            },
            routes,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const TOKEN: &str = "tok-SECRET-0123456789";
    const CLIENT_SECRET: &str = "cs-SECRET-9876543210";

    /// The environment the tests pretend to have: setting real variables is `unsafe` and
    /// races with other tests.
    fn env(name: &str) -> Option<String> {
        match name {
            "PMH_TOKEN" => Some(format!("  {TOKEN}\n")),
            "PMH_SECRET" => Some(CLIENT_SECRET.to_owned()),
            "BLANK" => Some("  ".to_owned()),
            "SPACED" => Some("two words".to_owned()),
            _ => None,
        }
    }

    fn settle(config: &Value) -> Result<Settings, PluginError> {
        let config: Config = pmhlink_pdk::parse_config(&config.to_string())?;
        config.settle(&env)
    }

    /// The good config with `changes` applied (`null` removes a key).
    fn with(changes: Value) -> Value {
        let mut config =
            json!({"base_url": "https://pmh.example.lg.jp/", "token_env": "PMH_TOKEN"});
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                config.as_object_mut().unwrap().remove(key);
            } else {
                config[key] = value.clone();
            }
        }
        config
    }

    fn oauth(changes: Value) -> Value {
        let mut oauth = json!({
            "token_url": "https://auth.example.lg.jp/oauth/token",
            "client_id": "municipality-131016",
            "client_secret_env": "PMH_SECRET"
        });
        for (key, value) in changes.as_object().unwrap() {
            oauth[key] = value.clone();
        }
        with(json!({"token_env": null, "oauth2": oauth}))
    }

    fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }

    #[test]
    fn bad_configs_name_the_key_and_quote_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, content: &str| {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            path.to_str().unwrap().to_owned()
        };
        let empty_file = path("empty-token", " \n");
        let no_pem = path("not-a-bundle.pem", "just text\n");
        let not_toml = path("broken-profile.toml", "name = [\n");
        let mut incoherent = pmhlink_profile::spec::DEFAULT_PROFILE_TOML.replace(
            "/api/medical-subsidy/v1/subject-histories/registration-tasks/{taskId}",
            "/api/medical-subsidy/v1/subject-histories/results",
        );
        incoherent.push('\n');
        let incoherent = path("incoherent-profile.toml", &incoherent);
        let missing = dir.path().join("missing-file").to_str().unwrap().to_owned();
        let mut both_tokens = oauth(json!({}));
        both_tokens["token_env"] = json!("PMH_TOKEN");

        let cases: Vec<(Value, &str, Option<&str>)> = vec![
            (
                with(json!({"base_url": null})),
                "missing field `base_url`",
                None,
            ),
            (
                with(json!({"base_url": "pmh.example.lg.jp"})),
                "`base_url`: not a URL",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": "ftp://pmh.example.lg.jp"})),
                "`base_url`: expected an https://",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": "http://pmh.example.lg.jp"})),
                "`base_url`: http:// is allowed only for 127.0.0.1 and localhost",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": "http://127.0.0.1.example.lg.jp"})),
                "http:// is allowed only",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": "https://someone:hunter2pass@pmh.example.lg.jp"})),
                "`base_url`: must not hold a user name or password",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": "https://pmh.example.lg.jp/?tenant=131016"})),
                "`base_url`: must not have a query",
                Some("base_url"),
            ),
            (
                with(json!({"base_url": 8443})),
                "`base_url`: invalid type",
                Some("base_url"),
            ),
            (
                with(json!({"token_env": null})),
                "set exactly one of `token_env`, `token_file` or `oauth2` (none is set)",
                None,
            ),
            (
                with(json!({"token_file": "/run/secrets/pmh"})),
                "(`token_env` and `token_file` are both set)",
                Some("token_file"),
            ),
            (
                both_tokens,
                "(`token_env` and `oauth2` are both set)",
                Some("oauth2"),
            ),
            (
                with(json!({"token_env": "NOT_SET_ANYWHERE"})),
                "`token_env`: the environment variable it names is not set or is empty",
                Some("token_env"),
            ),
            (
                with(json!({"token_env": "BLANK"})),
                "`token_env`: the environment variable it names is not set",
                Some("token_env"),
            ),
            // What an operator gets from `token_env = "${PMH_TOKEN}"`: the token itself.
            (
                with(json!({"token_env": TOKEN})),
                "`token_env`: must be the name of an environment variable",
                Some("token_env"),
            ),
            (
                with(json!({"token_env": "SPACED"})),
                "`token_env`: the token holds spaces",
                Some("token_env"),
            ),
            (
                with(json!({"token_env": null, "token_file": missing})),
                "`token_file`: cannot read the file it names",
                Some("token_file"),
            ),
            (
                with(json!({"token_env": null, "token_file": empty_file})),
                "`token_file`: the file it names is empty",
                Some("token_file"),
            ),
            (
                oauth(json!({"token_url": "http://auth.example.lg.jp/token"})),
                "`oauth2.token_url`: http:// is allowed only",
                Some("oauth2.token_url"),
            ),
            (
                oauth(json!({"client_id": " "})),
                "`oauth2.client_id`: must not be empty",
                Some("oauth2.client_id"),
            ),
            (
                oauth(json!({"client_secret_env": "NOT_SET_EITHER"})),
                "`oauth2.client_secret_env`: the environment variable it names is not set",
                Some("oauth2.client_secret_env"),
            ),
            (
                oauth(json!({"client_secret_env": CLIENT_SECRET})),
                "`oauth2.client_secret_env`: must be the name",
                Some("oauth2.client_secret_env"),
            ),
            (
                oauth(json!({"grant": "password"})),
                "unknown field `grant`",
                Some("oauth2.grant"),
            ),
            (
                with(json!({"ca_bundle": missing})),
                "`ca_bundle`: cannot read the file it names",
                Some("ca_bundle"),
            ),
            (
                with(json!({"ca_bundle": no_pem})),
                "`ca_bundle`: the file it names holds no PEM certificate",
                Some("ca_bundle"),
            ),
            (
                with(json!({"proxy": "proxy.example.lg.jp:8080"})),
                "`proxy`",
                Some("proxy"),
            ),
            (
                with(json!({"proxy": "socks5://proxy.example.lg.jp:1080"})),
                "`proxy`: expected an http:// or https:// URL",
                Some("proxy"),
            ),
            (
                with(json!({"no_proxy": "localhost,.lg.jp"})),
                "`no_proxy`: is only meaningful with `proxy`",
                Some("no_proxy"),
            ),
            (
                with(json!({"timeout_secs": 0})),
                "`timeout_secs`: expected a number of seconds above 0",
                Some("timeout_secs"),
            ),
            (
                with(json!({"timeout_secs": 3601})),
                "`timeout_secs`",
                Some("timeout_secs"),
            ),
            (
                with(json!({"connect_timeout_secs": -1})),
                "`connect_timeout_secs`",
                Some("connect_timeout_secs"),
            ),
            (
                with(json!({"connect_timeout_secs": "ten"})),
                "`connect_timeout_secs`: invalid type",
                Some("connect_timeout_secs"),
            ),
            (
                with(json!({"backoff_base_secs": 0})),
                "`backoff_base_secs`",
                Some("backoff_base_secs"),
            ),
            (
                with(json!({"backoff_max_secs": 0.1})),
                "`backoff_max_secs`: must not be below backoff_base_secs",
                Some("backoff_max_secs"),
            ),
            (
                with(json!({"max_attempts": 0})),
                "`max_attempts`: expected 1 to 100",
                Some("max_attempts"),
            ),
            (
                with(json!({"max_attempts": -3})),
                "`max_attempts`: invalid value",
                Some("max_attempts"),
            ),
            (
                with(json!({"profile": missing})),
                "`profile`: cannot read the file it names",
                Some("profile"),
            ),
            (
                with(json!({"profile": not_toml})),
                "`profile`: the file it names is not a valid profile",
                Some("profile"),
            ),
            (
                with(json!({"profile": incoherent})),
                "`profile`: API E08: a result path starts with `/` and holds `{taskId}`",
                Some("profile"),
            ),
            (
                with(json!({"tokn_env": "PMH_TOKEN"})),
                "unknown field `tokn_env`",
                None,
            ),
        ];
        for (config, expected, location) in &cases {
            let err = match settle(config) {
                Ok(_) => panic!("accepted: {config}"),
                Err(err) => err,
            };
            assert_eq!(err.kind, pmhlink_pdk::api::RErrorKind::Config, "{err}");
            assert!(
                err.message.contains(expected),
                "{config}\n  expected {expected:?}\n  got {err}"
            );
            if let Some(location) = location {
                assert_eq!(err.location.as_deref(), Some(*location), "{err}");
            }
            let text = err.to_string();
            for secret in [TOKEN, CLIENT_SECRET, "hunter2pass"] {
                assert!(!text.contains(secret), "{text}");
            }
            let mut values = Vec::new();
            strings(config, &mut values);
            for value in values.into_iter().filter(|v| v.len() >= 4) {
                assert!(!text.contains(value), "quotes {value:?}: {text}");
            }
        }
    }

    #[test]
    fn defaults_and_normal_forms() {
        let s = settle(&with(json!({}))).unwrap();
        assert_eq!(s.link.base_url, "https://pmh.example.lg.jp");
        assert_eq!(s.link.origin, "https://pmh.example.lg.jp");
        assert_eq!(s.link.timeout, Duration::from_secs(60));
        assert_eq!(s.link.connect_timeout, Duration::from_secs(10));
        assert_eq!(
            s.link.backoff,
            Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_secs(30),
                max_attempts: 6
            }
        );
        assert!(s.link.proxy.is_none() && s.link.roots.is_empty());
        // The variable's value is trimmed (a trailing newline from `$(cat file)`).
        match &s.link.credentials {
            Credentials::Token { token, key } => {
                assert_eq!((&token[..], *key), (TOKEN, "token_env"))
            }
            Credentials::OAuth2 { .. } => panic!("static token expected"),
        }
        assert_eq!(s.link.secrets, [TOKEN]);

        let s = settle(&with(
            json!({"base_url": "https://gw.example.lg.jp:8443/pmh/"}),
        ))
        .unwrap();
        assert_eq!(s.link.base_url, "https://gw.example.lg.jp:8443/pmh");
        assert_eq!(s.link.origin, "https://gw.example.lg.jp:8443");
    }

    #[test]
    fn plain_http_only_where_it_cannot_leave_the_machine() {
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://LOCALHOST",
            "http://127.1.2.3",
            "http://[::1]:9",
        ] {
            settle(&with(json!({"base_url": local}))).unwrap_or_else(|e| panic!("{local}: {e}"));
        }
        let s = settle(&with(
            json!({"base_url": "http://hub.test.lan:8080", "allow_insecure_http": true}),
        ))
        .unwrap();
        assert_eq!(s.link.base_url, "http://hub.test.lan:8080");
    }

    #[test]
    fn other_credentials_and_transport_settings() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        fs::write(&token_file, format!("{TOKEN}\r\n")).unwrap();
        let s = settle(&with(json!({"token_env": null, "token_file": token_file}))).unwrap();
        assert!(
            matches!(&s.link.credentials, Credentials::Token { token, key: "token_file" } if token == TOKEN)
        );

        let s = settle(&oauth(json!({"scope": "pmh.register"}))).unwrap();
        match &s.link.credentials {
            Credentials::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                assert_eq!(token_url, "https://auth.example.lg.jp/oauth/token");
                assert_eq!(client_id, "municipality-131016");
                assert_eq!(client_secret, CLIENT_SECRET);
                assert_eq!(scope.as_deref(), Some("pmh.register"));
            }
            Credentials::Token { .. } => panic!("oauth2 expected"),
        }
        assert_eq!(s.link.secrets, [CLIENT_SECRET]);

        let bundle = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-ca.pem");
        let s = settle(&with(json!({
            "ca_bundle": bundle,
            "proxy": "http://pmhlink:proxy-PASSWORD@proxy.example.lg.jp:8080",
            "no_proxy": "localhost,.internal.lg.jp",
            "timeout_secs": 0.5,
            "connect_timeout_secs": 2,
            "backoff_base_secs": 0.01,
            "backoff_max_secs": 0.01,
            "max_attempts": 1,
        })))
        .unwrap();
        assert_eq!(s.link.roots.len(), 1);
        assert!(s.link.proxy.is_some());
        // The proxy's password is a secret too.
        assert_eq!(s.link.secrets, [TOKEN, "proxy-PASSWORD"]);
        assert_eq!(s.link.timeout, Duration::from_millis(500));
        assert_eq!(s.link.backoff.max_attempts, 1);
    }

    #[test]
    fn a_profile_of_ones_own_moves_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vendor.toml");
        let text = pmhlink_profile::spec::DEFAULT_PROFILE_TOML
            .replace("/api/medical-subsidy/v1/", "/pmh/v2/");
        fs::write(&path, text).unwrap();
        let s = settle(&with(json!({"profile": path}))).unwrap();
        let e06 = s.routes.register("E06").unwrap();
        assert_eq!(e06.path, "/pmh/v2/subject-histories/registration-tasks");
        assert_eq!(
            e06.result.path_for("t"),
            "/pmh/v2/subject-histories/registration-tasks/t"
        );
    }

    #[test]
    fn the_schema_lists_every_key() {
        let schema: Value =
            serde_json::from_str(&pmhlink_pdk::schema::config_schema::<Config>()).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["base_url"]));
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut expected = vec![
            "allow_insecure_http",
            "backoff_base_secs",
            "backoff_max_secs",
            "base_url",
            "ca_bundle",
            "connect_timeout_secs",
            "max_attempts",
            "no_proxy",
            "oauth2",
            "profile",
            "proxy",
            "timeout_secs",
            "token_env",
            "token_file",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        for (key, property) in schema["properties"].as_object().unwrap() {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 20),
                "{key}"
            );
        }
        // The documented defaults are the ones serde applies.
        let defaults = [
            ("timeout_secs", json!(60.0)),
            ("connect_timeout_secs", json!(10.0)),
            ("backoff_base_secs", json!(0.5)),
            ("backoff_max_secs", json!(30.0)),
            ("max_attempts", json!(6)),
        ];
        for (key, default) in defaults {
            assert_eq!(schema["properties"][key]["default"], default, "{key}");
        }
        let oauth = &schema["$defs"]["OAuth2Config"];
        assert_eq!(oauth["additionalProperties"], false);
        let keys: Vec<&String> = oauth["properties"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["client_id", "client_secret_env", "scope", "token_url"]
        );
        for (key, property) in oauth["properties"].as_object().unwrap() {
            assert!(property["description"].as_str().is_some(), "oauth2.{key}");
        }
    }

    #[test]
    fn the_settings_page_is_up_to_date() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/pmh-api.md");
        if let Err(stale) = pmhlink_pdk::docs::spec_page_is_current(&crate::spec(), &path) {
            panic!("{stale}");
        }
    }
}
