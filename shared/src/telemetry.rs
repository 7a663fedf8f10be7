//! JSON logs through `tracing`, configured by `RUST_LOG` (default `info`).
//!
//! `RUST_LOG` takes a level (`warn`, `info`, `debug`, …), `target=level` pairs, or both, comma
//! separated: `warn,shared=debug`. That is `tracing_subscriber`'s `Targets` syntax, not
//! `EnvFilter`'s: no span or field filters and no regular expressions, which keeps the regex
//! engine out of every Lambda. A value that does not parse falls back to `info`.
//!
//! Whatever `RUST_LOG` says, the crates in [`NEVER_BELOW_INFO`] log at `info` and above only.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Targets (prefixes) whose debug and trace events carry credentials: `lambda_runtime` logs the
/// raw invocation event at trace (Authorization headers, login passwords), `lambda_http` sits on
/// it, and the AWS SDK's `aws_smithy*` / `aws_sigv4` log signed requests (session token) and
/// whole DynamoDB responses (password hashes, refresh hashes). A separate filter, so no
/// `RUST_LOG` directive, however specific, can lift it.
pub const NEVER_BELOW_INFO: &[&str] = &["lambda_runtime", "lambda_http", "aws_smithy", "aws_sigv4"];

/// Installs the JSON subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let _ = subscriber(std::env::var("RUST_LOG").ok().as_deref(), std::io::stdout).try_init();
}

fn subscriber<W>(rust_log: Option<&str>, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_writer(writer);
    // Both filters must enable an event (stacked layers: each one can only refuse).
    tracing_subscriber::registry()
        .with(filter_from(rust_log))
        .with(credential_cap())
        .with(json)
}

fn filter_from(rust_log: Option<&str>) -> Targets {
    rust_log
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

fn credential_cap() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(NEVER_BELOW_INFO.iter().map(|t| (*t, LevelFilter::INFO)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::Level;

    #[test]
    fn rust_log_levels_and_targets() {
        let default = filter_from(None);
        assert!(default.would_enable("shared", &Level::INFO));
        assert!(!default.would_enable("shared", &Level::DEBUG));

        assert!(filter_from(Some("debug")).would_enable("any", &Level::DEBUG));
        assert!(!filter_from(Some("warn")).would_enable("any", &Level::INFO));

        let pairs = filter_from(Some("warn,shared=debug"));
        assert!(pairs.would_enable("shared::store", &Level::DEBUG));
        assert!(!pairs.would_enable("aws_smithy_runtime", &Level::INFO));

        assert!(filter_from(Some("")).would_enable("any", &Level::INFO));
        assert!(filter_from(Some("[span]=nonsense")).would_enable("any", &Level::INFO));
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The runtime's raw event (what `lambda_runtime` 1.x logs at trace) and signed SDK
    /// requests never reach the log, even with `RUST_LOG=trace` or a directive naming them.
    #[test]
    fn raw_events_and_signed_requests_are_never_logged() {
        for rust_log in [
            "trace",
            "info,shared=trace,lambda_runtime::layers::api_response=trace,aws_smithy_runtime=trace",
        ] {
            let out = Captured::default();
            let writer = out.clone();
            let subscriber = subscriber(Some(rust_log), move || writer.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(
                    target: "lambda_runtime::layers::api_response",
                    body = r#"{"headers":{"authorization":"Bearer eyJ-secret"},"body":"{\"password\":\"hunter2\"}"}"#,
                    "raw JSON event received from Lambda"
                );
                tracing::debug!(target: "lambda_http::request", body = "hunter2", "event");
                tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", request = "x-amz-security-token: secret-token", "transmitting request");
                tracing::trace!(target: "aws_sigv4::http_request::sign", canonical_request = "secret-token", "signing request");
                tracing::info!(target: "lambda_runtime", "runtime info still logged");
                tracing::trace!(target: "shared::store", "our own trace still logged");
            });
            let logged = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            for secret in ["hunter2", "eyJ-secret", "secret-token"] {
                assert!(
                    !logged.contains(secret),
                    "RUST_LOG={rust_log} logged {secret}: {logged}"
                );
            }
            assert!(
                logged.contains("runtime info still logged"),
                "{rust_log}: {logged}"
            );
            assert!(
                logged.contains("our own trace still logged"),
                "{rust_log}: {logged}"
            );
        }
    }
}
