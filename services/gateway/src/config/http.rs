//! The HTTP edge's settings (`HTTP_*`): tokens, body limit, timeouts, concurrency.

use std::time::Duration;

use radraft_core::settings::Settings;
use secrecy::SecretString;

use super::ENV_PREFIX;

/// The guards in front of every HTTP endpoint but `/health` (see `http_edge`).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Bearer tokens any one of which a request must present. Empty: no authentication
    /// (warned at start-up), so existing deployments keep working until they set some.
    pub tokens: Vec<SecretString>,
    /// Total size of a request body, all parts together.
    pub max_body_bytes: u64,
    /// Time from the request's headers to the end of its response, body upload included.
    pub timeout: Duration,
    /// Requests handled at once; the next is answered 503 with Retry-After.
    pub max_concurrent: usize,
    /// Time a connection has to send a request's headers once it is open or has finished
    /// the previous request; a client that sends them slowly or never is cut after it.
    pub header_timeout: Duration,
}

/// The shortest bearer token accepted, so that a guessable one cannot be configured.
pub const MIN_TOKEN_CHARS: usize = 16;

impl HttpLimits {
    /// Reads and checks the `HTTP_*` settings; problems go to `env`, never a token's text.
    pub(super) fn read(env: &mut Settings) -> Self {
        let tokens = env.optional::<String>("HTTP_TOKENS");
        let http = Self {
            tokens: tokens
                .as_deref()
                .map(parse_tokens)
                .unwrap_or_default()
                .into_iter()
                .map(SecretString::from)
                .collect(),
            max_body_bytes: env.get("HTTP_MAX_BODY_BYTES", 4 << 30),
            timeout: Duration::from_millis(env.get("HTTP_TIMEOUT_MS", 600_000)),
            max_concurrent: env.get("HTTP_MAX_CONCURRENT", 32),
            header_timeout: Duration::from_millis(env.get("HTTP_HEADER_TIMEOUT_MS", 30_000)),
        };
        // Problems name the token's position, never its text.
        if let Some(raw) = &tokens {
            let list = parse_tokens(raw);
            if list.is_empty() {
                env.problem(format!(
                    "{ENV_PREFIX}HTTP_TOKENS is set but holds no token; unset it or list tokens"
                ));
            }
            for (index, token) in list.iter().enumerate() {
                if token.chars().count() < MIN_TOKEN_CHARS {
                    let n = index + 1;
                    env.problem(format!(
                        "{ENV_PREFIX}HTTP_TOKENS: token {n} is shorter than {MIN_TOKEN_CHARS} characters"
                    ));
                }
                if !token.chars().all(|c| c.is_ascii_graphic()) {
                    env.problem(format!(
                        "{ENV_PREFIX}HTTP_TOKENS: token {} has characters other than visible ASCII",
                        index + 1
                    ));
                }
            }
        }
        if http.max_body_bytes == 0 || usize::try_from(http.max_body_bytes).is_err() {
            env.problem(format!(
                "{ENV_PREFIX}HTTP_MAX_BODY_BYTES must be above 0 and fit in memory addresses"
            ));
        }
        if http.max_concurrent == 0 {
            env.problem(format!("{ENV_PREFIX}HTTP_MAX_CONCURRENT must be above 0"));
        }
        if http.timeout.is_zero() {
            env.problem(format!("{ENV_PREFIX}HTTP_TIMEOUT_MS must be above 0"));
        }
        if http.header_timeout.is_zero() {
            env.problem(format!(
                "{ENV_PREFIX}HTTP_HEADER_TIMEOUT_MS must be above 0"
            ));
        }
        http
    }
}

/// Splits `HTTP_TOKENS` at commas, dropping blanks around and between tokens.
fn parse_tokens(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::GatewayConfig;
    use super::super::tests::vars;

    #[test]
    fn http_tokens_are_checked_without_being_printed() {
        let err = GatewayConfig::from_vars(vars(&[
            ("HTTP_TOKENS", "short-secret, a-long-enough-token-value"),
            ("HTTP_MAX_CONCURRENT", "0"),
            ("HTTP_TIMEOUT_MS", "0"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
        let text = err.to_string();
        assert!(text.contains("token 1 is shorter"), "{text}");
        assert!(!text.contains("short-secret"), "{text}");
        let empty = GatewayConfig::from_vars(vars(&[("HTTP_TOKENS", " , ")])).unwrap_err();
        assert!(empty.to_string().contains("holds no token"), "{empty}");
    }

    #[test]
    fn http_tokens_parse_and_stay_secret() {
        let config = GatewayConfig::from_vars(vars(&[(
            "HTTP_TOKENS",
            "first-token-0123456789, second-token-0123456789",
        )]))
        .unwrap();
        assert_eq!(config.http.tokens.len(), 2);
        assert!(!format!("{config:?}").contains("first-token"));
        let open = GatewayConfig::from_vars(HashMap::new()).unwrap();
        assert!(open.http.tokens.is_empty());
    }
}
