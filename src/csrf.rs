//! The CSRF check of cookie-borne tokens, and where the request's CSRF value comes from: the
//! CSRF header or, for plain HTML forms, a form field.
//!
//! Request guards cannot read the body, and a data guard runs after them. So the fairing's
//! request hook peeks at the start of a URL-encoded form body (Rocket buffers up to 512 bytes
//! without consuming them, and the route's `Form` still reads the whole body) and keeps the
//! field's value in the request's local cache, where the check finds it when the header is
//! absent. The rest of the body is never buffered for this: the field must end within the
//! first [`FORM_PEEK`] bytes, so templates put it first.

use rocket::data::Data;
use rocket::http::RawStr;
use rocket::request::Request;
use subtle::ConstantTimeEq;

use crate::config::HttpSettings;
use crate::error::AuthError;
use crate::token::Verified;

/// How many bytes at the start of a form body are searched for the CSRF field: all that Rocket
/// can peek at without consuming the body.
pub(crate) const FORM_PEEK: usize = 512;

/// The CSRF form field's value, read by the fairing before any guard runs.
struct FormCsrf(Option<String>);

/// Whether the request's method needs the CSRF check (when the check is on).
///
/// A form body on an exempt method is a `POST` that Rocket turned into that method because of
/// its `_method` field (browsers send `GET` forms in the URL, with no body): any site's page
/// can send it, so it is checked as the `POST` it was.
pub(crate) fn needed(request: &Request<'_>, http: &HttpSettings) -> bool {
    http.csrf_header.is_some()
        && (!http.csrf_exempt.contains(&request.method())
            || request.content_type().is_some_and(|t| t.is_form()))
}

/// For the fairing: on a method that needs the check, with a URL-encoded form body, reads the
/// CSRF field from the body's first [`FORM_PEEK`] bytes without consuming them, for
/// [`sent`]. The value is never logged.
pub(crate) async fn read_form_field(
    request: &Request<'_>,
    data: &mut Data<'_>,
    http: &HttpSettings,
) {
    let Some(field) = &http.csrf_field else {
        return;
    };
    if !needed(request, http) || !request.content_type().is_some_and(|t| t.is_form()) {
        return;
    }
    let start = data.peek(FORM_PEEK).await.to_vec();
    let value = find_field(&start, field, data.peek_complete());
    request.local_cache(|| FormCsrf(value));
}

/// The value of `field` among the complete `name=value` pairs of `start`, the start of a form
/// body (`complete` when it is the whole body; otherwise the pair cut off at its end is not
/// read). `None` when the field is absent, repeated or not UTF-8 once decoded.
fn find_field(start: &[u8], field: &str, complete: bool) -> Option<String> {
    let pairs = match complete {
        true => start,
        false => &start[..start.iter().rposition(|&b| b == b'&')?],
    };
    let mut found = pairs
        .split(|&b| b == b'&')
        .filter_map(|pair| pair.strip_prefix(field.as_bytes())?.strip_prefix(b"="));
    match (found.next(), found.next()) {
        (Some(value), None) => {
            let raw = std::str::from_utf8(value).ok()?;
            Some(RawStr::new(raw).url_decode().ok()?.into_owned())
        }
        _ => None,
    }
}

/// The CSRF value the request sent: the CSRF header's single value or, without the header,
/// the form field's. `None` when neither is there or the header is repeated.
pub(crate) fn sent<'r>(request: &'r Request<'_>, http: &HttpSettings) -> Option<&'r str> {
    let header = http.csrf_header.as_deref()?;
    let mut values = request.headers().get(header);
    match (values.next(), values.next()) {
        (Some(value), None) => Some(value),
        (None, _) => request.local_cache(|| FormCsrf(None)).0.as_deref(),
        _ => None,
    }
}

/// Whether `sent` equals `expected`, in constant time.
pub(crate) fn matches(sent: Option<&str>, expected: &str) -> bool {
    sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}

/// Signed double submit: on methods that need it, a cookie-borne token's `csrf` claim must
/// equal the CSRF value sent in the header or the form field, which another site cannot know.
pub(crate) fn check(
    request: &Request<'_>,
    http: &HttpSettings,
    verified: &Verified,
) -> Result<(), AuthError> {
    // An allow-list of exempt (safe) methods: anything else needs it, including methods added
    // later.
    if !needed(request, http) {
        return Ok(());
    }
    let expected = verified.claims().csrf.as_deref().ok_or(AuthError::Csrf)?;
    match matches(sent(request, http), expected) {
        true => Ok(()),
        false => Err(AuthError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::find_field;

    #[test]
    fn the_field_is_read_from_complete_pairs_only() {
        let find = |body: &str, complete| find_field(body.as_bytes(), "_csrf", complete);
        assert_eq!(find("_csrf=a%2Bb+c&text=x", true).as_deref(), Some("a+b c"));
        assert_eq!(find("text=x&_csrf=abc", true).as_deref(), Some("abc"));
        assert_eq!(find("text=x&_csrf=abc", false), None, "may be cut off");
        assert_eq!(find("_csrf=abc&text=xx", false).as_deref(), Some("abc"));
        assert_eq!(find("_csrf=a&_csrf=b", true), None, "repeated");
        assert_eq!(find("x_csrf=a&_csrfx=b", true), None);
        assert_eq!(find("_csrf=%FF", true), None);
        assert_eq!(find("", true), None);
    }
}
