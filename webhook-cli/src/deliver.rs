//! Sending deliveries and reporting their answers.

use std::io::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::cli::Target;
use crate::event::Outgoing;
use crate::sender::AnySender;
use crate::UsageError;

/// Send `event` to the target `times` times; `Ok(true)` when every answer was 2xx.
pub(crate) fn deliver(target: &Target, event: &Outgoing, times: u32) -> Result<bool, UsageError> {
    let url = parse_url(&target.url)?;
    let Some(secret) = target.secret.as_deref() else {
        return Err(UsageError::new(
            "no signing secret: pass --secret or set WEBHOOK_SECRET",
        ));
    };
    let path = url
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    // The error says what is wrong with the secret, never what it is.
    let sender = AnySender::new(target.scheme, secret, path).map_err(|error| {
        UsageError::new(format!(
            "the secret is unusable for --scheme {}: {error}",
            scheme_name(target)
        ))
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| UsageError::new(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let timeout = Duration::from_secs(target.timeout);
        let mut all_ok = true;
        for _ in 0..times {
            let (mut parts, body) = sender
                .request(&event.id, &event.event_type, &event.body)
                .map_err(|error| UsageError::new(format!("cannot sign the delivery: {error}")))?
                .into_parts();
            parts.uri = url.clone();
            parts.headers.insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static(concat!("webhook-cli/", env!("CARGO_PKG_VERSION"))),
            );
            let request = http::Request::from_parts(parts, Full::new(body));
            let started = Instant::now();
            let answer = tokio::time::timeout(timeout, async {
                let response = client.request(request).await?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                // The timing covers the whole answer, as a sender's would.
                response.into_body().collect().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, retry_after))
            })
            .await;
            let elapsed = started.elapsed();
            match answer {
                Ok(Ok((status, retry_after))) => {
                    all_ok &= status.is_success();
                    emit(&line(status, retry_after.as_deref(), elapsed, event));
                }
                Ok(Err(error)) => {
                    all_ok = false;
                    emit(&failed_line(&describe(&*error), elapsed, event));
                }
                Err(_) => {
                    all_ok = false;
                    let reason = format!("no answer within {} s", target.timeout);
                    emit(&failed_line(&reason, elapsed, event));
                }
            }
        }
        Ok(all_ok)
    })
}

fn scheme_name(target: &Target) -> String {
    use clap::ValueEnum;
    target.scheme.to_possible_value().map_or_else(
        || format!("{:?}", target.scheme),
        |value| value.get_name().to_owned(),
    )
}

/// An absolute `http://` URL.
fn parse_url(text: &str) -> Result<Uri, UsageError> {
    let url: Uri = text
        .parse()
        .map_err(|error| UsageError::new(format!("--url {text:?} is not a URL: {error}")))?;
    match url.scheme_str() {
        Some("http") if url.authority().is_some() => Ok(url),
        Some("https") => Err(UsageError::new(format!(
            "--url {text:?}: https is not supported; send to an http:// URL (a local receiver, \
             or a tunnel to a remote one)"
        ))),
        _ => Err(UsageError::new(format!(
            "--url {text:?} must be an absolute http:// URL, such as \
             http://127.0.0.1:3000/webhooks/paymentkit"
        ))),
    }
}

/// `200 OK  3.4 ms  evt_1  payment_intent.succeeded`, and `retry after` when the receiver
/// said when to come back.
fn line(
    status: StatusCode,
    retry_after: Option<&str>,
    elapsed: Duration,
    event: &Outgoing,
) -> String {
    let reason = status.canonical_reason().unwrap_or("");
    let mut line = format!(
        "{} {reason}  {}  {}  {}",
        status.as_u16(),
        millis(elapsed),
        event.id,
        event.event_type
    );
    if let Some(seconds) = retry_after {
        line.push_str(&format!("  (retry after {seconds} s)"));
    }
    line
}

fn failed_line(reason: &str, elapsed: Duration, event: &Outgoing) -> String {
    format!(
        "failed: {reason}  {}  {}  {}",
        millis(elapsed),
        event.id,
        event.event_type
    )
}

/// Print one delivery's line. A closed stdout must not stop (or panic) the run: the exit code
/// still tells the outcome.
fn emit(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn millis(elapsed: Duration) -> String {
    format!("{:.1} ms", elapsed.as_secs_f64() * 1000.0)
}

/// The error and its causes: hyper's own message ("client error (Connect)") says little.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Outgoing {
        Outgoing {
            id: "evt_1".to_owned(),
            event_type: "payment_intent.succeeded".to_owned(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn lines_show_status_time_id_and_type() {
        let elapsed = Duration::from_micros(3_420);
        assert_eq!(
            line(StatusCode::OK, None, elapsed, &event()),
            "200 OK  3.4 ms  evt_1  payment_intent.succeeded"
        );
        assert_eq!(
            line(StatusCode::CONFLICT, Some("2"), elapsed, &event()),
            "409 Conflict  3.4 ms  evt_1  payment_intent.succeeded  (retry after 2 s)"
        );
    }

    #[test]
    fn only_absolute_http_urls() {
        assert!(parse_url("http://127.0.0.1:3000/webhooks?x=1").is_ok());
        for bad in [
            "https://example.com/",
            "127.0.0.1:3000",
            "/webhooks",
            "not a url",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
