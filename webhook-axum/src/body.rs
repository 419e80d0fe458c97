//! Reading the raw body under the size limit, after the content checks.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::BodyExt;

use crate::response::Rejection;

/// The checks of the request's head, before any of its body is read: a refused request costs
/// neither memory nor a read.
///
/// The headers are found in one pass rather than a hashed lookup each (a webhook request
/// carries a handful, and this runs for every delivery), then checked in a fixed order, so a
/// request with several faults always gets the same answer.
pub(crate) fn check_head(parts: &http::request::Parts, limit: usize) -> Result<(), Rejection> {
    let (mut encoded, mut content_type, mut content_length) = (false, None, None);
    for (name, value) in &parts.headers {
        if name == CONTENT_TYPE {
            content_type.get_or_insert(value);
        } else if name == CONTENT_LENGTH {
            content_length.get_or_insert(value);
        } else if name == CONTENT_ENCODING {
            encoded = true;
        }
    }
    if encoded {
        return Err(Rejection::UnsupportedMediaType);
    }
    if content_type.is_some_and(|value| !is_json(value.as_bytes())) {
        return Err(Rejection::UnsupportedMediaType);
    }
    if let Some(length) = content_length {
        let length = std::str::from_utf8(length.as_bytes())
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or(Rejection::BadRequest)?;
        if length > limit as u64 {
            return Err(Rejection::PayloadTooLarge);
        }
    }
    Ok(())
}

/// The whole body, at most `limit` bytes, within `timeout`.
///
/// Only the body is held while it is read, not the request: every future that awaits this one
/// carries it, and the HTTP stack moves those futures several times per request.
pub(crate) async fn read(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, Rejection> {
    let mut collecting = pin!(collect(body, limit));
    // A webhook's body nearly always arrives with its head: read at once, it needs no timer
    // (arming one reads the clock and registers with the runtime's timer wheel). Otherwise the
    // time limit counts from here.
    match poll_once(collecting.as_mut()).await {
        Poll::Ready(bytes) => bytes,
        // Boxed: the timer's state would otherwise sit in every delivery's future.
        Poll::Pending => Box::pin(tokio::time::timeout(timeout, collecting))
            .await
            .map_err(|_| Rejection::Timeout)?,
    }
}

fn poll_once<F: Future + Unpin>(mut future: F) -> impl Future<Output = Poll<F::Output>> {
    std::future::poll_fn(move |cx| Poll::Ready(Pin::new(&mut future).poll(cx)))
}

/// The body's data, at most `limit` bytes in all.
///
/// Read frame by frame rather than with `http_body_util`'s `Limited` and `Collect`: a body that
/// arrives in one frame (a webhook's nearly always does) is kept as that frame, with no list
/// to allocate for it, and the future is a fraction of their size (trailers, which `Collect`
/// keeps room for, mean nothing here).
async fn collect(mut body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let mut data = Collected::Empty;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            tracing::debug!(%error, "could not read request body");
            Rejection::BadRequest
        })?;
        if let Ok(chunk) = frame.into_data() {
            if chunk.len() > limit - data.len() {
                return Err(Rejection::PayloadTooLarge);
            }
            data.push(chunk);
        }
    }
    Ok(data.into_bytes())
}

/// The data frames read so far (never more than the limit).
enum Collected {
    Empty,
    /// The only frame so far, as received.
    One(Bytes),
    /// Several frames, joined.
    Joined(BytesMut),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::One(chunk) => chunk.len(),
            Self::Joined(joined) => joined.len(),
        }
    }

    fn push(&mut self, chunk: Bytes) {
        *self = match std::mem::replace(self, Self::Empty) {
            Self::Empty => Self::One(chunk),
            Self::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + chunk.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&chunk);
                Self::Joined(joined)
            }
            Self::Joined(mut joined) => {
                joined.extend_from_slice(&chunk);
                Self::Joined(joined)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Empty => Bytes::new(),
            Self::One(chunk) => chunk,
            Self::Joined(joined) => joined.freeze(),
        }
    }
}

/// `application/json` or any `+json` type, any case, with parameters such as `charset`.
fn is_json(content_type: &[u8]) -> bool {
    // What senders send, checked without splitting, trimming or UTF-8 validation.
    if content_type.eq_ignore_ascii_case(b"application/json") {
        return true;
    }
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim().as_bytes();
    // Compared without lowering a copy: this runs for every delivery.
    let Some(subtype) = essence
        .get(..12)
        .filter(|head| head.eq_ignore_ascii_case(b"application/"))
        .map(|_| &essence[12..])
    else {
        return false;
    };
    subtype.eq_ignore_ascii_case(b"json")
        || (subtype.len() >= 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

#[cfg(test)]
mod tests {
    use super::{collect, is_json, Body, Rejection};

    fn frames(chunks: &[&'static str]) -> Body {
        let chunks: Vec<Result<&'static str, std::io::Error>> =
            chunks.iter().copied().map(Ok).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_is_its_frames_joined_up_to_the_limit() {
        // `{"id":1}` is 8 bytes.
        let one = collect(frames(&["{\"id\":1}"]), 7).await;
        assert!(matches!(one, Err(Rejection::PayloadTooLarge)), "{one:?}");
        assert_eq!(
            collect(frames(&["{\"id\":1}"]), 8).await.unwrap(),
            "{\"id\":1}"
        );
        let three = collect(frames(&["{\"id\"", "", ":1}"]), 8).await;
        assert_eq!(three.unwrap(), "{\"id\":1}");
        let over = collect(frames(&["{\"id\"", ":1}", " "]), 8).await;
        assert!(matches!(over, Err(Rejection::PayloadTooLarge)), "{over:?}");
        assert_eq!(collect(frames(&[]), 8).await.unwrap(), "");
    }

    #[tokio::test]
    async fn a_body_that_fails_while_read_is_a_bad_request() {
        let failing = Body::from_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>("{"),
            Err(std::io::Error::other("connection reset")),
        ]));
        let read = collect(failing, 1024).await;
        assert!(matches!(read, Err(Rejection::BadRequest)), "{read:?}");
    }

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/cloudevents+json",
            " Application/Problem+JSON ; q=1",
        ] {
            assert!(is_json(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "text/plain",
            "multipart/form-data",
            "application/jsonx",
            "",
            "json",
            "text/json+json",
            "applicatio/json",
            "application",
        ] {
            assert!(!is_json(bad.as_bytes()), "{bad}");
        }
    }
}
