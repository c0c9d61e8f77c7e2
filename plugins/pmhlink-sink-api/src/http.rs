//! Talking to PMH: one request at a time, the retry loops around it, the bearer token, and
//! errors that say what happened without a secret in them.

use std::{
    error::Error as _,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use pmhlink_pdk::PluginError;
use reqwest::{
    Client, Method, Response, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER},
    redirect,
};
use serde_json::Value;

use crate::backoff::{Backoff, parse_retry_after};
use crate::config::{Credentials, Link};

/// The largest answer read: a result of 1000 records with their errors is a few MB. A bigger
/// answer is a misrouted download, not a result.
const MAX_ANSWER: usize = 64 << 20;

/// Renew an OAuth2 token this long before PMH says it expires (at most half its lifetime), so
/// a request never leaves with a token about to lapse in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// A secret shorter than this is not scrubbed from messages: replacing a short common string
/// would mangle them, and real tokens and secrets are far longer.
const MIN_SCRUBBED: usize = 6;

/// A complete answer.
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// A request that got no complete answer.
#[derive(Debug)]
pub enum Failure {
    /// It never reached PMH (no connection): sending it again cannot duplicate anything.
    NotSent(String),
    /// It may have reached PMH (timed out or cut off after sending): its outcome is unknown.
    Unknown(String),
}

pub enum Body {
    Empty,
    Bytes {
        bytes: Vec<u8>,
        content_type: &'static str,
    },
    Form(Vec<(&'static str, String)>),
}

/// One request, as often as it is tried.
pub struct Call<'a> {
    pub method: Method,
    pub url: String,
    /// How messages name it, e.g. `POST /api/… (E06, run r1, file 3)`.
    pub what: String,
    pub body: Body,
    pub idempotency_key: Option<&'a str>,
}

/// 429 and the 5xx answers a gateway or an overloaded PMH gives; everything else is final.
pub fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

struct OAuth2 {
    token_url: String,
    origin: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    header: HeaderValue,
    /// `None`: PMH gave no lifetime; kept until PMH answers 401.
    renew_at: Option<Instant>,
}

enum Auth {
    Token {
        header: HeaderValue,
        key: &'static str,
    },
    OAuth2(OAuth2),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves plain data behind, still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn bearer_header(token: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    // Keeps it out of hyper's and reqwest's debug output.
    header.set_sensitive(true);
    Some(header)
}

pub struct Api {
    client: Client,
    base_url: String,
    pub origin: String,
    backoff: Backoff,
    auth: Auth,
    /// Every secret this instance has seen; scrubbed from every message that leaves it.
    secrets: Mutex<Vec<String>>,
}

impl Api {
    /// The HTTP client, without connecting.
    pub fn new(link: Link) -> Result<Self, PluginError> {
        let Link {
            base_url,
            origin,
            credentials,
            roots,
            proxy,
            timeout,
            connect_timeout,
            backoff,
            secrets,
        } = link;
        let mut builder = Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            // A redirected POST becomes a GET without its body, and a bearer token belongs to
            // the configured host only: a redirect is an error to report, not to follow.
            .redirect(redirect::Policy::none())
            .user_agent(concat!("pmhlink-sink-api/", env!("CARGO_PKG_VERSION")));
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
        builder = match proxy {
            Some(proxy) => builder.proxy(proxy),
            // Without `proxy` the route is direct: an HTTPS_PROXY left in some service
            // account's environment must not silently reroute tokens.
            None => builder.no_proxy(),
        };
        let client = builder.build().map_err(|e| {
            PluginError::config(format!(
                "cannot set up the HTTP client (TLS roots, `ca_bundle` or `proxy`): {}",
                describe(&e)
            ))
        })?;
        let auth = match credentials {
            Credentials::Token { token, key } => Auth::Token {
                header: bearer_header(&token).ok_or_else(|| {
                    PluginError::config(format!("config `{key}`: the token cannot be sent")).at(key)
                })?,
                key,
            },
            Credentials::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Auth::OAuth2(OAuth2 {
                origin: reqwest::Url::parse(&token_url)
                    .map(|u| u.origin().ascii_serialization())
                    .unwrap_or_default(),
                token_url,
                client_id,
                client_secret,
                scope,
                cached: Mutex::new(None),
            }),
        };
        Ok(Api {
            client,
            base_url,
            origin,
            backoff,
            auth,
            secrets: Mutex::new(secrets),
        })
    }

    /// The full URL of a profile path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The config key an operator fixes when PMH refuses the credentials.
    fn credentials_key(&self) -> &'static str {
        match &self.auth {
            Auth::Token { key, .. } => key,
            Auth::OAuth2(_) => "oauth2",
        }
    }

    /// Replaces every known secret in an error leaving the plugin with `***`. Messages are
    /// built never to hold one; this guards against a server or library echoing one.
    pub fn scrub(&self, mut err: PluginError) -> PluginError {
        for secret in lock(&self.secrets).iter() {
            if secret.len() >= MIN_SCRUBBED {
                err.message = err.message.replace(secret.as_str(), "***");
                if let Some(location) = &mut err.location {
                    *location = location.replace(secret.as_str(), "***");
                }
            }
        }
        err
    }

    /// The Authorization header: the static token, or a cached or freshly fetched OAuth2 one.
    pub async fn bearer(&self) -> Result<HeaderValue, PluginError> {
        let oauth = match &self.auth {
            Auth::Token { header, .. } => return Ok(header.clone()),
            Auth::OAuth2(oauth) => oauth,
        };
        if let Some(cached) = lock(&oauth.cached).as_ref()
            && cached.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(cached.header.clone());
        }
        let fresh = self.fetch_token(oauth).await?;
        let header = fresh.header.clone();
        *lock(&oauth.cached) = Some(fresh);
        Ok(header)
    }

    /// Drops a cached OAuth2 token after PMH refused it; `false` when there is nothing to
    /// renew (a static token is what it is).
    pub fn forget_token(&self) -> bool {
        match &self.auth {
            Auth::Token { .. } => false,
            Auth::OAuth2(oauth) => {
                *lock(&oauth.cached) = None;
                true
            }
        }
    }

    async fn fetch_token(&self, oauth: &OAuth2) -> Result<Cached, PluginError> {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", oauth.client_id.clone()),
            ("client_secret", oauth.client_secret.clone()),
        ];
        if let Some(scope) = &oauth.scope {
            form.push(("scope", scope.clone()));
        }
        let endpoint = format!("the OAuth2 token endpoint {}", oauth.origin);
        let call = Call {
            method: Method::POST,
            url: oauth.token_url.clone(),
            what: format!("the token request to {endpoint}"),
            body: Body::Form(form),
            idempotency_key: None,
        };
        let answer = self.retrying_unauthenticated(&call).await?;
        let refused = |detail: String| {
            PluginError::config(format!(
                "{endpoint} refused the client credentials ({}{detail}); check `oauth2`",
                answer.status
            ))
            .at("oauth2")
        };
        match answer.status.as_u16() {
            200 => {}
            400 | 401 | 403 => {
                // RFC 6749's `error` is a fixed code (`invalid_client`…); the description is
                // free text and is left out.
                let code = json_word(&answer.body, "error")
                    .map(|c| format!(", error `{c}`"))
                    .unwrap_or_default();
                return Err(refused(code));
            }
            _ => {
                return Err(PluginError::io(format!(
                    "{endpoint} answered {} to the token request",
                    answer.status
                )));
            }
        }
        let malformed = |what: &str| PluginError::data(format!("{endpoint} answered 200 {what}"));
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|_| malformed("with something other than JSON"))?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| malformed("without an `access_token`"))?;
        if let Some(kind) = body.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(malformed("with a token type other than Bearer"));
        }
        lock(&self.secrets).push(token.to_owned());
        let header =
            bearer_header(token).ok_or_else(|| malformed("with a token that cannot be sent"))?;
        let renew_at = body.get("expires_in").and_then(Value::as_f64).map(|secs| {
            let lifetime = Duration::from_secs_f64(secs.clamp(0.0, 1e9));
            Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN.min(lifetime / 2))
        });
        Ok(Cached { header, renew_at })
    }

    /// One try.
    pub async fn once(
        &self,
        call: &Call<'_>,
        bearer: Option<&HeaderValue>,
    ) -> Result<Answer, Failure> {
        let mut request = self.client.request(call.method.clone(), &call.url);
        if let Some(header) = bearer {
            request = request.header(AUTHORIZATION, header.clone());
        }
        if let Some(key) = call.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request = match &call.body {
            Body::Empty => request,
            Body::Bytes {
                bytes,
                content_type,
            } => request
                .header(CONTENT_TYPE, *content_type)
                .body(bytes.clone()),
            Body::Form(pairs) => request.form(pairs),
        };
        let response = request.send().await.map_err(|e| {
            if e.is_connect() || e.is_builder() {
                Failure::NotSent(describe(&e))
            } else {
                Failure::Unknown(describe(&e))
            }
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // Cut off mid-answer, the request itself was received: the outcome is unknown.
        let body = read_body(response).await.map_err(Failure::Unknown)?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// Tries a request that is safe to repeat (a GET) until it gets an answer that is not
    /// transient, renewing an OAuth2 token once on 401. Returns that answer whatever its
    /// status; the caller decides what it means.
    pub async fn retrying(&self, call: &Call<'_>) -> Result<Answer, PluginError> {
        let mut failures = 0;
        let mut renewed = false;
        loop {
            let bearer = self.bearer().await?;
            let (why, asked) = match self.once(call, Some(&bearer)).await {
                Ok(a)
                    if a.status == StatusCode::UNAUTHORIZED && !renewed && self.forget_token() =>
                {
                    renewed = true;
                    continue;
                }
                Ok(a) if is_transient(a.status) => {
                    (format!("answered {}", a.status), a.retry_after)
                }
                Ok(a) => return Ok(a),
                Err(Failure::NotSent(why) | Failure::Unknown(why)) => (why, None),
            };
            self.pause(&mut failures, call, &why, asked).await?;
        }
    }

    /// [`Api::retrying`] for the token request, which carries no bearer token (and could not
    /// ask for one without recursing).
    async fn retrying_unauthenticated(&self, call: &Call<'_>) -> Result<Answer, PluginError> {
        let mut failures = 0;
        loop {
            let (why, asked) = match self.once(call, None).await {
                Ok(a) if is_transient(a.status) => {
                    (format!("answered {}", a.status), a.retry_after)
                }
                Ok(a) => return Ok(a),
                Err(Failure::NotSent(why) | Failure::Unknown(why)) => (why, None),
            };
            self.pause(&mut failures, call, &why, asked).await?;
        }
    }

    /// Counts a transient failure and waits before the next try, or gives up when the tries
    /// are used up.
    async fn pause(
        &self,
        failures: &mut u32,
        call: &Call<'_>,
        why: &str,
        asked: Option<Duration>,
    ) -> Result<(), PluginError> {
        *failures += 1;
        if *failures >= self.backoff.max_attempts {
            return Err(PluginError::io(format!(
                "PMH API {}: {} failed {failures} times; the last time: {why}",
                self.origin, call.what
            )));
        }
        tokio::time::sleep(self.backoff.jittered(*failures, asked)).await;
        Ok(())
    }

    /// Registers a payload and returns PMH's task id. A POST whose outcome is unknown is never
    /// sent blindly again: `lookup` asks PMH whether it holds the idempotency key first, and
    /// only a 404 there sends the POST again (with the same key).
    pub async fn register(
        &self,
        post: &Call<'_>,
        lookup: &Call<'_>,
        task_key: &str,
    ) -> Result<String, PluginError> {
        let mut failures = 0;
        let mut renewed = false;
        let mut looking = false;
        loop {
            let call = if looking { lookup } else { post };
            let bearer = self.bearer().await?;
            let (why, asked) = match self.once(call, Some(&bearer)).await {
                Ok(a)
                    if a.status == StatusCode::UNAUTHORIZED && !renewed && self.forget_token() =>
                {
                    renewed = true;
                    continue;
                }
                Ok(a) if !looking && matches!(a.status.as_u16(), 200..=202) => {
                    return self.task_id(call, &a, task_key);
                }
                Ok(a) if looking && a.status == StatusCode::OK => {
                    return self.task_id(call, &a, task_key);
                }
                Ok(a) if looking && a.status == StatusCode::NOT_FOUND => {
                    // PMH never got it: sending now cannot make a second task.
                    looking = false;
                    continue;
                }
                Ok(a) if is_transient(a.status) => {
                    (format!("answered {}", a.status), a.retry_after)
                }
                Ok(a) if looking => {
                    return Err(PluginError::io(format!(
                        "{}; {}",
                        self.unknown_outcome(post),
                        self.refusal(call, &a).message
                    )));
                }
                Ok(a) => return Err(self.refusal(call, &a)),
                Err(Failure::NotSent(why)) => (why, None),
                Err(Failure::Unknown(why)) => {
                    looking = true;
                    (why, None)
                }
            };
            failures += 1;
            if failures >= self.backoff.max_attempts {
                let head = if looking {
                    self.unknown_outcome(post)
                } else {
                    format!("PMH API {}: {} failed", self.origin, post.what)
                };
                return Err(PluginError::io(format!(
                    "{head} ({failures} tries; the last: {} {why})",
                    call.what
                )));
            }
            tokio::time::sleep(self.backoff.jittered(failures, asked)).await;
        }
    }

    fn unknown_outcome(&self, post: &Call<'_>) -> String {
        format!(
            "PMH API {}: the outcome of {} is unknown and PMH could not be asked about it, so it \
             was not sent again; a later run sends it with the same Idempotency-Key `{}`, which \
             PMH answers with the task it may already have",
            self.origin,
            post.what,
            post.idempotency_key.unwrap_or_default()
        )
    }

    /// The task id in a registration's answer.
    fn task_id(&self, call: &Call<'_>, answer: &Answer, key: &str) -> Result<String, PluginError> {
        let body: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let id = body
            .as_ref()
            .and_then(|b| b.get(key))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 200 && !id.contains(char::is_control));
        id.map(str::to_owned).ok_or_else(|| {
            // The ledger keeps the id in a tab-separated line and it becomes a URL segment.
            PluginError::data(format!(
                "PMH API {} answered {} to {} without a usable `{key}` (a JSON string of 1 to 200 characters, no control characters)",
                self.origin, answer.status, call.what
            ))
        })
    }

    /// The error for a final answer that is not the one hoped for. Only PMH's error `code` is
    /// quoted: its message may repeat record content.
    pub fn refusal(&self, call: &Call<'_>, answer: &Answer) -> PluginError {
        let code = json_word(&answer.body, "code")
            .map(|c| format!(", PMH code `{c}`"))
            .unwrap_or_default();
        let (origin, status, what) = (&self.origin, answer.status, &call.what);
        match status.as_u16() {
            // Not a configuration error (exit 2) but the run's circumstances (exit 4): a token
            // that expired or was revoked at PMH is refused with the pipeline file unchanged.
            401 | 403 => {
                let key = self.credentials_key();
                PluginError::io(format!(
                    "PMH API {origin} refused the credentials ({status}{code}) for {what}; check `{key}`"
                ))
                .at(key)
            }
            404 | 405 => PluginError::config(format!(
                "PMH API {origin} answered {status}{code} to {what}; is the path right (`base_url`, or the API's path in the profile)?"
            )),
            300..=399 => PluginError::io(format!(
                "PMH API {origin} answered {status} to {what}; redirects are not followed (is `base_url` the API's own address?)"
            )),
            400..=499 => {
                PluginError::data(format!("PMH API {origin} refused {what} ({status}{code})"))
            }
            _ => PluginError::io(format!(
                "PMH API {origin} answered {status}{code} to {what}"
            )),
        }
    }

    /// One try without retries, for `check`: it reports the state of things now. Renews an
    /// OAuth2 token once on 401, like every other request.
    pub async fn probe(&self, call: &Call<'_>) -> Result<Answer, PluginError> {
        let mut renewed = false;
        loop {
            let bearer = self.bearer().await?;
            return match self.once(call, Some(&bearer)).await {
                Ok(a)
                    if a.status == StatusCode::UNAUTHORIZED && !renewed && self.forget_token() =>
                {
                    renewed = true;
                    continue;
                }
                Ok(a) => Ok(a),
                Err(Failure::NotSent(why)) => Err(PluginError::io(format!(
                    "PMH API {} is unreachable: {why}",
                    self.origin
                ))),
                // Reached, but the answer was lost: a GET can simply be asked again.
                Err(Failure::Unknown(_)) => self.retrying(call).await,
            };
        }
    }
}

async fn read_body(mut response: Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(format!(
                "the answer is larger than {} MiB",
                MAX_ANSWER >> 20
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What went wrong, from the causes' own texts. reqwest's top-level text quotes the URL
/// (harmless, but long and repeated by every caller); its sources say what failed.
fn describe(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    if err.is_timeout() {
        parts.push("timed out".to_owned());
    }
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        parts.push(if err.is_body() || err.is_decode() {
            "the answer was cut off".to_owned()
        } else {
            "the request failed".to_owned()
        });
    }
    parts.join(": ")
}

/// A short code-like string field of a JSON object answer (`code`, OAuth2's `error`), or
/// `None`. Anything else — long, or holding spaces or other characters — is left out: it may
/// be prose quoting what was sent.
fn json_word(body: &[u8], key: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let word = match value.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let plain = !word.is_empty()
        && word.len() <= 64
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 202, 400, 401, 403, 404, 409, 422, 501, 505] {
            assert!(!is_transient(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn only_code_like_words_are_quoted() {
        assert_eq!(
            json_word(br#"{"code": "E-1001", "message": "x"}"#, "code").as_deref(),
            Some("E-1001")
        );
        assert_eq!(
            json_word(br#"{"code": 422}"#, "code").as_deref(),
            Some("422")
        );
        for body in [
            "{\"code\": \"name 愛知花子 is invalid\"}".as_bytes(),
            br#"{"code": ""}"#,
            br#"{"code": {"a": 1}}"#,
            br#"{"message": "no code"}"#,
            b"<html>gateway</html>",
            b"",
        ] {
            assert_eq!(
                json_word(body, "code"),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(r#"{{"code": "{}"}}"#, "A".repeat(65));
        assert_eq!(json_word(long.as_bytes(), "code"), None);
    }

    #[test]
    fn bearer_headers_are_sensitive() {
        let header = bearer_header("abc.DEF-123").unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer abc.DEF-123");
        assert!(!format!("{header:?}").contains("abc.DEF"));
        assert!(bearer_header("line\nbreak").is_none());
    }
}
