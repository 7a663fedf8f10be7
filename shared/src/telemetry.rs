//! JSON logs through `tracing`, configured by `RUST_LOG` (default `info`).
//!
//! `RUST_LOG` takes a level (`warn`, `info`, `debug`, …), `target=level` pairs, or both, comma
//! separated: `warn,shared=debug`. That is `tracing_subscriber`'s `Targets` syntax, not
//! `EnvFilter`'s: no span or field filters and no regular expressions, which keeps the regex
//! engine out of every Lambda. A value that does not parse falls back to `info`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the JSON subscriber once; later calls are no-ops (tests call it freely).
pub fn init() {
    let filter = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .try_init();
}

fn filter_from(rust_log: Option<&str>) -> Targets {
    rust_log
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
