//! The server side: how a [`Policy`] answers a request.
//!
//! [`Policy::decide`] classifies the request exactly as the Fetch standard
//! does and returns a [`Decision`]: either answer a preflight here, or
//! forward the request and then apply CORS headers to the response. The
//! decision borrows from the policy and the request and never allocates;
//! allocation happens only when headers are written into a map.

mod denial;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

pub use denial::Denial;

use crate::acrh;
use crate::origin_set::{OriginMatch, OriginSet};
use crate::policy::{Policy, CORS_RESPONSE_HEADERS};
use crate::stored::StoredOrigins;

/// What kind of request this is, per the Fetch standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// No `Origin` header: not a CORS request.
    NonCors,
    /// A CORS request the application answers (any method, including an
    /// `OPTIONS` without `Access-Control-Request-Method`).
    Actual,
    /// `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    Preflight,
}

impl RequestKind {
    /// Classifies a request from its method and headers.
    pub fn of(method: &Method, headers: &HeaderMap) -> RequestKind {
        if !headers.contains_key(header::ORIGIN) {
            RequestKind::NonCors
        } else if method == Method::OPTIONS
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            RequestKind::Preflight
        } else {
            RequestKind::Actual
        }
    }

    /// A stable lower-case label for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestKind::NonCors => "non_cors",
            RequestKind::Actual => "actual",
            RequestKind::Preflight => "preflight",
        }
    }
}

/// What the engine decided for one request.
#[derive(Debug, Clone)]
pub enum Decision<'a> {
    /// Pass the request to the application, then call [`Forward::apply`]
    /// on its response headers.
    Forward(Forward<'a>),
    /// Answer the preflight without calling the application.
    Preflight(Preflight<'a>),
}

impl<'a> Decision<'a> {
    /// The request's classification.
    pub fn kind(&self) -> RequestKind {
        match self {
            Decision::Forward(f) => f.kind,
            Decision::Preflight(_) => RequestKind::Preflight,
        }
    }

    /// Why the request was refused, if it was.
    pub fn denial(&self) -> Option<&Denial<'a>> {
        match self {
            Decision::Forward(f) => f.denial.as_ref(),
            Decision::Preflight(p) => p.outcome.as_ref().err(),
        }
    }
}

/// The `Access-Control-Allow-Origin` value to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AllowOrigin<'a> {
    /// `*`, for a policy that allows any origin without credentials.
    Any,
    /// The request's own `Origin`, byte for byte.
    Echo(&'a HeaderValue),
    /// An exact entry of the policy (same bytes as the request's `Origin`),
    /// with its index, for which a ready preflight answer may exist.
    Listed(&'a HeaderValue, usize),
}

impl AllowOrigin<'_> {
    fn value(&self) -> HeaderValue {
        match self {
            AllowOrigin::Any => HeaderValue::from_static("*"),
            AllowOrigin::Echo(v) | AllowOrigin::Listed(v, _) => (*v).clone(),
        }
    }
}

/// A request to forward to the application, and the CORS headers its
/// response needs.
#[derive(Debug, Clone)]
pub struct Forward<'a> {
    policy: &'a Policy,
    kind: RequestKind,
    allow: Option<AllowOrigin<'a>>,
    denial: Option<Denial<'a>>,
    vary_on_origin: bool,
}

impl<'a> Forward<'a> {
    /// Whether the response will carry `Access-Control-Allow-Origin`.
    pub fn is_allowed(&self) -> bool {
        self.allow.is_some()
    }

    /// The request's classification (non-CORS or actual).
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// Why an actual request's origin was not allowed.
    pub fn denial(&self) -> Option<&Denial<'a>> {
        self.denial.as_ref()
    }

    /// Writes the CORS headers into the application's response headers.
    ///
    /// The application's own CORS headers are replaced (there is never a
    /// second `Access-Control-Allow-Origin`), and `Vary: Origin` is appended
    /// to whatever `Vary` the application set, never replacing it.
    pub fn apply(&self, headers: &mut HeaderMap) {
        write_forward_headers(
            headers,
            self.allow.map(|a| a.value()).as_ref(),
            self.policy.credentials,
            self.policy.rendered.expose_headers.as_ref(),
            self.vary_on_origin,
        );
    }

    /// An owned copy of what [`Forward::apply`] needs, for middleware that
    /// must hand the request to the application before it can write the
    /// response. Copying is reference-count bumps, not allocation.
    pub fn to_plan(&self) -> ForwardPlan {
        ForwardPlan {
            allow: self.allow.map(|a| a.value()),
            credentials: self.policy.credentials,
            expose: self.policy.rendered.expose_headers.clone(),
            vary_on_origin: self.vary_on_origin,
        }
    }
}

/// An owned [`Forward`]: the CORS headers an application's response needs.
#[derive(Debug, Clone)]
pub struct ForwardPlan {
    allow: Option<HeaderValue>,
    credentials: bool,
    expose: Option<HeaderValue>,
    vary_on_origin: bool,
}

impl ForwardPlan {
    /// A plan that refuses: it strips CORS headers and adds `Vary: Origin`.
    pub fn deny() -> ForwardPlan {
        ForwardPlan {
            allow: None,
            credentials: false,
            expose: None,
            vary_on_origin: true,
        }
    }

    /// Whether the response will carry `Access-Control-Allow-Origin`.
    pub fn is_allowed(&self) -> bool {
        self.allow.is_some()
    }

    /// Writes the CORS headers, exactly as [`Forward::apply`] does.
    pub fn apply(&self, headers: &mut HeaderMap) {
        write_forward_headers(
            headers,
            self.allow.as_ref(),
            self.credentials,
            self.expose.as_ref(),
            self.vary_on_origin,
        );
    }
}

fn write_forward_headers(
    headers: &mut HeaderMap,
    allow: Option<&HeaderValue>,
    credentials: bool,
    expose: Option<&HeaderValue>,
    vary_on_origin: bool,
) {
    // Most applications set no CORS header; then there is nothing to remove.
    if has_cors_headers(headers) {
        strip_cors_headers(headers);
    }
    if let Some(origin) = allow {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = expose {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
    if vary_on_origin {
        append_vary(headers, "origin", HeaderValue::from_static("Origin"));
    }
}

/// Whether any `Access-Control-*` header is present.
fn has_cors_headers(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name.as_str().starts_with("access-control-"))
}

/// Removes every CORS response header the application may have set.
pub fn strip_cors_headers(headers: &mut HeaderMap) {
    for name in &CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
}

/// Appends `value` to `Vary` unless a `Vary` value already lists `token`
/// (case-insensitively) or is `*`. The application's `Vary` is kept.
pub fn append_vary(headers: &mut HeaderMap, token: &str, value: HeaderValue) {
    // One lookup whether or not the application set a `Vary`: this runs on
    // nearly every response.
    match headers.entry(header::VARY) {
        http::header::Entry::Vacant(vacant) => {
            vacant.insert(value);
        }
        http::header::Entry::Occupied(mut vary) => {
            let already = vary.iter().any(|v| {
                v.as_bytes().split(|&b| b == b',').any(|t| {
                    let t = crate::token::trim_ows(t);
                    t == b"*" || t.eq_ignore_ascii_case(token.as_bytes())
                })
            });
            if !already {
                vary.append(value);
            }
        }
    }
}

/// One CORS request header: its first value, and whether it repeats.
#[derive(Debug, Clone, Copy, Default)]
struct Slot<'a> {
    first: Option<&'a HeaderValue>,
    repeated: bool,
}

impl<'a> Slot<'a> {
    fn add(&mut self, value: &'a HeaderValue) {
        match self.first {
            None => self.first = Some(value),
            Some(_) => self.repeated = true,
        }
    }
}

/// The request headers the decision reads.
#[derive(Debug, Clone, Copy, Default)]
struct CorsRequestHeaders<'a> {
    origin: Slot<'a>,
    method: Slot<'a>,
    headers: Slot<'a>,
}

impl<'a> CorsRequestHeaders<'a> {
    /// `Origin` alone, by one lookup (requests other than `OPTIONS`).
    fn origin_only(headers: &'a HeaderMap) -> Self {
        let mut found = CorsRequestHeaders::default();
        for value in headers.get_all(header::ORIGIN) {
            found.origin.add(value);
            if found.origin.repeated {
                break;
            }
        }
        found
    }

    /// `Origin`, `Access-Control-Request-Method` and `-Headers` in one pass
    /// over the request's headers, cheaper than three hash lookups.
    fn scan(headers: &'a HeaderMap) -> Self {
        let mut found = CorsRequestHeaders::default();
        for (name, value) in headers {
            if name == header::ORIGIN {
                found.origin.add(value);
            } else if name == header::ACCESS_CONTROL_REQUEST_METHOD {
                found.method.add(value);
            } else if name == header::ACCESS_CONTROL_REQUEST_HEADERS {
                found.headers.add(value);
            }
        }
        found
    }
}

/// The answer to a preflight request.
#[derive(Debug, Clone)]
pub struct Preflight<'a> {
    policy: &'a Policy,
    outcome: Result<Grant<'a>, Denial<'a>>,
}

#[derive(Debug, Clone, Copy)]
struct Grant<'a> {
    origin: AllowOrigin<'a>,
    method: &'a HeaderValue,
    request_headers: Option<Requested<'a>>,
}

/// The `Access-Control-Request-Headers` a grant may echo: the one field
/// line browsers send, or every line of a list an intermediary split.
#[derive(Debug, Clone, Copy)]
enum Requested<'a> {
    One(&'a HeaderValue),
    /// The request's headers, whose `Access-Control-Request-Headers` lines
    /// are echoed one by one, as sent (no allocation).
    Lines(&'a HeaderMap),
}

impl<'a> Preflight<'a> {
    /// Whether the preflight is allowed.
    pub fn is_allowed(&self) -> bool {
        self.outcome.is_ok()
    }

    /// Why the preflight was refused, if it was.
    pub fn denial(&self) -> Option<&Denial<'a>> {
        self.outcome.as_ref().err()
    }

    /// 204 when allowed, 403 when refused.
    pub fn status(&self) -> StatusCode {
        if self.is_allowed() {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::FORBIDDEN
        }
    }

    /// The response headers: the full CORS set when allowed, none when
    /// refused (a 403 carries no CORS header; responses to `OPTIONS` are not
    /// cacheable, so no `Vary` is needed either, and an empty map costs no
    /// allocation).
    pub fn headers(&self) -> HeaderMap {
        match &self.outcome {
            Ok(grant) => {
                let rendered = &self.policy.rendered;
                // Exact origins of small policies have their answer ready.
                let ready = match grant.origin {
                    AllowOrigin::Listed(_, index) => rendered.origin_templates.get(index),
                    _ => None,
                };
                let mut headers = match ready {
                    Some(ready) => ready.clone(),
                    None => {
                        let mut headers = rendered.preflight_template.clone();
                        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, grant.origin.value());
                        headers
                    }
                };
                if rendered.allow_methods.is_none() {
                    if self.policy.methods.any {
                        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, grant.method.clone());
                    } else {
                        headers.remove(header::ACCESS_CONTROL_ALLOW_METHODS);
                    }
                }
                match (grant.request_headers, &rendered.allow_headers) {
                    (None, _) => {
                        headers.remove(header::ACCESS_CONTROL_ALLOW_HEADERS);
                    }
                    // `*` policies echo the (validated) request: unlike a
                    // literal `*`, that also covers `Authorization`.
                    (Some(Requested::One(requested)), None) => {
                        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
                    }
                    (Some(Requested::Lines(request)), None) => {
                        headers.remove(header::ACCESS_CONTROL_ALLOW_HEADERS);
                        for line in request.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                            headers.append(header::ACCESS_CONTROL_ALLOW_HEADERS, line.clone());
                        }
                    }
                    (Some(_), Some(_)) => {}
                }
                headers
            }
            Err(_) => HeaderMap::new(),
        }
    }

    /// The complete response, with an empty body.
    pub fn into_response<B: Default>(self) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = self.status();
        *response.headers_mut() = self.headers();
        response
    }

    /// An owned copy of the answer's headers, to write onto a response
    /// that someone else produced (a preflight forwarded to the
    /// application).
    pub fn to_plan(&self) -> PreflightPlan {
        PreflightPlan {
            allowed: self.is_allowed(),
            headers: self.headers(),
        }
    }
}

/// The CORS headers of a preflight answer, owned, for writing onto a
/// response the application produced.
#[derive(Debug, Clone)]
pub struct PreflightPlan {
    allowed: bool,
    headers: HeaderMap,
}

impl PreflightPlan {
    /// Whether the policy allows the preflight.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// Writes the policy's answer onto `headers`: the application's own CORS
    /// headers are removed, the policy's set (when it allows the preflight)
    /// written, and its `Vary` tokens appended to the application's `Vary`.
    /// The application keeps its status: it can make a preflight fail, never
    /// allow more than the policy does.
    pub fn apply(&self, headers: &mut HeaderMap) {
        if has_cors_headers(headers) {
            strip_cors_headers(headers);
        }
        for (name, value) in &self.headers {
            if name != header::VARY {
                headers.insert(name.clone(), value.clone());
            }
        }
        for token in [
            "Origin",
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
        ] {
            append_vary(headers, token, HeaderValue::from_static(token));
        }
    }
}

impl Policy {
    /// Decides how to answer a request, given its method and headers.
    ///
    /// ```
    /// use http::{HeaderMap, Method, header};
    /// let policy = corsica::Policy::builder().origins(["https://app.example"]).build().unwrap();
    /// let mut headers = HeaderMap::new();
    /// headers.insert(header::ORIGIN, "https://app.example".parse().unwrap());
    /// headers.insert(header::ACCESS_CONTROL_REQUEST_METHOD, "GET".parse().unwrap());
    /// match policy.decide(&Method::OPTIONS, &headers) {
    ///     corsica::Decision::Preflight(p) => assert_eq!(p.status(), 204),
    ///     corsica::Decision::Forward(_) => unreachable!(),
    /// }
    /// ```
    pub fn decide<'a>(&'a self, method: &Method, headers: &'a HeaderMap) -> Decision<'a> {
        self.decide_with(method, headers, None)
    }

    /// Like [`Policy::decide`], also allowing the origins in `extra` (from a
    /// dynamic source, validated by [`Policy::compile_dynamic_origins`]).
    pub fn decide_with<'a>(
        &'a self,
        method: &Method,
        headers: &'a HeaderMap,
        extra: Option<&OriginSet>,
    ) -> Decision<'a> {
        self.decide_extra(method, headers, extra.map(Extra::Set))
    }

    /// Like [`Policy::decide`], also allowing the members of a store's set.
    ///
    /// The set must have been validated under this policy's
    /// [`origin_rules`](Policy::origin_rules); if it was not (the policy was
    /// replaced by one with other credentials or opt-ins and the set is not
    /// yet rebuilt), none of its members is allowed: a member is only ever
    /// matched under the rules that accepted it.
    pub fn decide_stored<'a>(
        &'a self,
        method: &Method,
        headers: &'a HeaderMap,
        stored: &StoredOrigins,
    ) -> Decision<'a> {
        let usable = stored.rules() == self.origin_rules();
        self.decide_extra(method, headers, Some(Extra::Stored(stored, usable)))
    }

    fn decide_extra<'a>(
        &'a self,
        method: &Method,
        headers: &'a HeaderMap,
        extra: Option<Extra<'_>>,
    ) -> Decision<'a> {
        let vary_on_origin = self.rendered.vary_on_origin || extra.is_some();
        // The hot path of every request: an actual request needs one lookup;
        // a preflight's three headers are found in a single pass.
        let found = if method == Method::OPTIONS {
            CorsRequestHeaders::scan(headers)
        } else {
            CorsRequestHeaders::origin_only(headers)
        };
        let Some(origin) = found.origin.first else {
            // A public API sends `*` on every response, so a cached
            // non-CORS response also serves later CORS requests.
            let allow = (!vary_on_origin).then_some(AllowOrigin::Any);
            return Decision::Forward(Forward {
                policy: self,
                kind: RequestKind::NonCors,
                allow,
                denial: None,
                vary_on_origin,
            });
        };
        let checked = match found.origin.repeated {
            true => Err(Denial::MultipleOrigins),
            false => self.check_origin(origin, extra),
        };
        let Some(request_method) = found.method.first else {
            let (allow, denial) = match checked {
                Ok(allow) => (Some(allow), None),
                Err(denial) => (None, Some(denial)),
            };
            return Decision::Forward(Forward {
                policy: self,
                kind: RequestKind::Actual,
                allow,
                denial,
                vary_on_origin,
            });
        };
        let outcome = checked.and_then(|origin| match found.method.repeated {
            true => Err(Denial::MalformedMethod),
            false => self.check_preflight(request_method, found.headers, headers, origin),
        });
        Decision::Preflight(Preflight {
            policy: self,
            outcome,
        })
    }

    fn check_origin<'a>(
        &'a self,
        origin: &'a HeaderValue,
        extra: Option<Extra<'_>>,
    ) -> Result<AllowOrigin<'a>, Denial<'a>> {
        let bytes = origin.as_bytes();
        if self.origins.is_any() && !self.credentials {
            return Ok(AllowOrigin::Any);
        }
        match self.origins.lookup(bytes) {
            // The policy's interned copy: same bytes, no reference count.
            Some(OriginMatch::Exact(own, index)) => Ok(AllowOrigin::Listed(own, index)),
            Some(_) => Ok(AllowOrigin::Echo(origin)),
            None if extra.is_some_and(|extra| extra.allows(bytes)) => Ok(AllowOrigin::Echo(origin)),
            None => Err(Denial::OriginNotAllowed(origin)),
        }
    }

    fn check_preflight<'a>(
        &self,
        method: &'a HeaderValue,
        request_headers: Slot<'a>,
        request: &'a HeaderMap,
        origin: AllowOrigin<'a>,
    ) -> Result<Grant<'a>, Denial<'a>> {
        let bytes = method.as_bytes();
        if !crate::token::is_token(bytes) {
            return Err(Denial::MalformedMethod);
        }
        // Validation keeps forbidden methods out of the list, so only the
        // wildcard needs the forbidden check.
        let allowed = matches!(bytes, b"GET" | b"HEAD" | b"POST")
            || self.methods.items.iter().any(|m| m.as_bytes() == bytes)
            || (self.methods.any
                && !std::str::from_utf8(bytes).is_ok_and(crate::method::is_forbidden));
        if !allowed {
            // Tokens are ASCII, so this cannot fail.
            let name = std::str::from_utf8(bytes).map_err(|_| Denial::MalformedMethod)?;
            return Err(Denial::MethodNotAllowed(name));
        }
        let request_headers = self.check_request_headers(request_headers, request)?;
        Ok(Grant {
            origin,
            method,
            request_headers,
        })
    }

    fn check_request_headers<'a>(
        &self,
        found: Slot<'a>,
        request: &'a HeaderMap,
    ) -> Result<Option<Requested<'a>>, Denial<'a>> {
        let Some(value) = found.first else {
            return Ok(None);
        };
        if !found.repeated {
            let count = self.check_request_header_line(value)?;
            return Ok((count > 0).then_some(Requested::One(value)));
        }
        // Browsers send one line, but some intermediaries split a long list
        // over several (rs/cors#184). HTTP reads them as one list joined
        // with commas (RFC 9110 section 5.3), so each line is checked, and
        // the joined length is held to the same bound as one line.
        let mut joined_len = 0;
        let mut count = 0;
        for (i, line) in request
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .enumerate()
        {
            joined_len += line.len() + usize::from(i > 0);
            if joined_len > acrh::MAX_ACRH_LEN {
                return Err(Denial::RequestHeaders(acrh::AcrhError::TooLong));
            }
            count += self.check_request_header_line(line)?;
        }
        Ok((count > 0).then_some(Requested::Lines(request)))
    }

    /// Checks one field line of `Access-Control-Request-Headers`; returns
    /// how many names it holds.
    fn check_request_header_line<'a>(&self, line: &'a HeaderValue) -> Result<usize, Denial<'a>> {
        let rule = &self.request_headers;
        acrh::check(line.as_bytes(), |name| {
            // Browsers send lower case, so an exact match is the fast path.
            rule.any
                || rule.items.iter().any(|allowed| {
                    let allowed = allowed.as_bytes();
                    allowed == name || allowed.eq_ignore_ascii_case(name)
                })
        })
        .map_err(Denial::RequestHeaders)
    }
}

/// Origins allowed beyond the policy's own.
#[derive(Clone, Copy)]
enum Extra<'s> {
    /// From an origin source, validated per request.
    Set(&'s OriginSet),
    /// A store's set, and whether it was validated under this policy's rules.
    Stored(&'s StoredOrigins, bool),
}

impl Extra<'_> {
    fn allows(self, origin: &[u8]) -> bool {
        match self {
            Extra::Set(set) => set.matches(origin),
            Extra::Stored(stored, usable) => usable && stored.contains(origin),
        }
    }
}

#[cfg(test)]
mod tests;
