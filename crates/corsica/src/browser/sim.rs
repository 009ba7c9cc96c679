//! The browser as a sans-IO state machine: it says which request to send
//! next, is fed each response, and ends with a [`Verdict`].
//!
//! `explain` feeds it scripted responses; `check` and `audit` feed it real
//! ones from the network. Either way the rules are the same code.

use std::collections::BTreeMap;

use url::Url;

use super::cache::{Lookup, PreflightCache};
use super::case::{Credentials, RequestSpec};
use super::check::{cors_check, Failure};
use super::console::{self, Blocked};
use super::error::{escape_hint, failed_parameter, CorsError};
use super::expose::readable_headers;
use super::fix::{fix, FixInput};
use super::headers::{latin1, ResponseHeaders};
use super::lna::{self, LnaBlock, LocalNetwork};
use super::narrate::{allow_origin_passed, describe_call, describe_response};
use super::order::chromium_order;
use super::preflight::PreflightResult;
use super::profile::Profile;
use super::redirect::{
    conflicting_locations, first_location, is_client_hint, redirect_location, BODY_HEADERS,
    CONDITIONAL_HEADERS,
};
use super::rejection::{self, Thrown};
use super::request::{prepare, request_headers_value, unsafe_headers, UnsafeHeader};
use super::verdict::{Leg, SentRequest, Skipped, Stage, TraceEvent, Verdict};

/// The most redirects a fetch follows.
pub const MAX_REDIRECTS: u32 = 20;

/// A request the browser sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The CORS-relevant summary.
    pub request: SentRequest,
    /// Every header to put on the wire, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// A response received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its status code.
    pub status: u16,
    /// Its headers.
    pub headers: ResponseHeaders,
}

/// What the browser does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this request and call [`Simulation::on_response`] with the answer.
    Send(Outgoing),
    /// The fetch is over; call [`Simulation::finish`].
    Done,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// The readable headers, and the names the response had but hid.
    Allowed(BTreeMap<String, Option<String>>, Vec<String>),
    Blocked(Failure),
    Script(String),
    Network(String),
    /// Stopped before the request itself, by the caller's choice.
    Skipped(Skipped),
}

/// One `fetch()` in progress.
#[derive(Debug, Clone)]
pub struct Simulation {
    profile: Profile,
    id: String,
    page_origin: String,
    spec: RequestSpec,
    url: Option<Url>,
    initial_url: String,
    method: String,
    headers: Vec<(String, Vec<u8>)>,
    unsafe_names: Vec<UnsafeHeader>,
    cors_flag: bool,
    tainted: bool,
    redirects: u32,
    awaiting: Option<Leg>,
    /// What let the request itself go out on the current hop (set by
    /// `send_actual`).
    cleared_by: Skipped,
    outcome: Option<Outcome>,
    requests: Vec<SentRequest>,
    trace: Vec<TraceEvent>,
    cache: PreflightCache,
    now: u64,
    /// The last response received, for the console message.
    last_response: Option<Incoming>,
    /// Where the fetch was blocked.
    blocked_at: Option<Stage>,
    /// Whether a preflight response was a redirect.
    preflight_redirected: bool,
    /// The first URL's CORS-unsafe headers.
    first_unsafe: Vec<UnsafeHeader>,
    /// Whether the last redirect went to another origin.
    crossed_origin: bool,
    /// Whether the last redirect turned the method into `GET`.
    changed_method: bool,
    /// Local Network Access inputs.
    network: LocalNetwork,
    /// Whether a URL of this fetch needed a preflight, sent or cached.
    needed_preflight: bool,
}

impl Simulation {
    /// A fetch of `spec` from a page whose origin is `page_origin`, with an
    /// empty preflight cache.
    pub fn new(id: &str, page_origin: &str, spec: &RequestSpec, profile: Profile) -> Self {
        Simulation::with_cache(id, page_origin, spec, profile, PreflightCache::new(), 0)
    }

    /// Like [`Simulation::new`], with an existing preflight cache and the
    /// current time in seconds (for repeated fetches).
    pub fn with_cache(
        id: &str,
        page_origin: &str,
        spec: &RequestSpec,
        profile: Profile,
        cache: PreflightCache,
        now: u64,
    ) -> Self {
        Simulation {
            profile,
            id: id.to_owned(),
            page_origin: page_origin.to_owned(),
            spec: spec.clone(),
            url: None,
            initial_url: spec.url.clone(),
            method: String::new(),
            headers: Vec::new(),
            unsafe_names: Vec::new(),
            cors_flag: false,
            tainted: false,
            redirects: 0,
            awaiting: None,
            cleared_by: Skipped::NoPreflight,
            outcome: None,
            requests: Vec::new(),
            trace: Vec::new(),
            cache,
            now,
            last_response: None,
            blocked_at: None,
            preflight_redirected: false,
            first_unsafe: Vec::new(),
            crossed_origin: false,
            changed_method: false,
            network: LocalNetwork::default(),
            needed_preflight: false,
        }
    }

    /// Sets what the caller knows about Local Network Access: the address
    /// spaces of names and the page's permission (see [`super::lna`]).
    pub fn set_local_network(&mut self, network: LocalNetwork) {
        self.network = network;
    }

    fn note(&mut self, stage: Stage, ok: Option<bool>, text: impl Into<String>) {
        self.trace.push(TraceEvent {
            stage,
            ok,
            text: text.into(),
        });
    }

    /// The origin the server sees: the page's, or `null` after a redirect
    /// tainted the request.
    fn request_origin(&self) -> &str {
        if self.tainted {
            "null"
        } else {
            &self.page_origin
        }
    }

    /// The origin a preflight carries and is checked against: the
    /// request's, except in Firefox, whose preflight always speaks for the
    /// page (a redirect's `null` never reaches it).
    fn preflight_origin(&self) -> &str {
        if self.profile.preflight_keeps_page_origin() {
            &self.page_origin
        } else {
            self.request_origin()
        }
    }

    /// The origin part of the preflight cache's key. Firefox keeps
    /// credentialed and uncredentialed results apart (the key includes the
    /// credentials flag); the others keep one result per origin and URL.
    fn cache_key(&self, origin: &str) -> String {
        if self.profile == Profile::Firefox && self.spec.credentials == Credentials::Include {
            // Must match what `block` clears.
            format!("{origin} (credentialed)")
        } else {
            origin.to_owned()
        }
    }

    fn current_url(&self) -> String {
        self.url
            .as_ref()
            .map(Url::to_string)
            .unwrap_or_else(|| self.spec.url.clone())
    }

    /// Whether this request may be served from the preflight cache. A
    /// request whose origin a redirect tainted has a fresh opaque origin,
    /// which no cached entry matches (Chromium 156 and WebKitGTK 2.50;
    /// Firefox's preflight speaks for the page, so its entries are the
    /// page's); in Chromium and Firefox a conditional request (`If-*`
    /// headers) skips the lookup (its own preflight result is still
    /// stored).
    fn reads_preflight_cache(&self) -> bool {
        if self.tainted && !self.profile.preflight_keeps_page_origin() {
            return false;
        }
        if self.profile == Profile::WebKit {
            return true;
        }
        !self.headers.iter().any(|(n, _)| {
            CONDITIONAL_HEADERS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(n))
        })
    }

    /// Whether a successful preflight's result is cached: not for a tainted
    /// origin, whose opaque origin no later request shares (Firefox's
    /// preflight is the page's).
    fn stores_preflight_cache(&self) -> bool {
        !self.tainted || self.profile.preflight_keeps_page_origin()
    }

    /// Starts the fetch: validates the script's input, then sends the first request.
    pub fn start(&mut self) -> Step {
        let summary = describe_call(&self.spec, &self.page_origin);
        self.note(Stage::Request, None, summary);
        let url = match Url::parse(&self.spec.url) {
            Ok(url) => url,
            Err(_) => return self.script_error(Thrown::UrlInvalid(self.spec.url.clone())),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return self.script_error(Thrown::UrlCredentials(self.spec.url.clone()));
        }
        if !matches!(url.scheme(), "http" | "https") {
            return self.network_error(format!(
                "Fetch API cannot load {}. URL scheme \"{}\" is not supported.",
                url,
                url.scheme()
            ));
        }
        let prepared = match prepare(&self.spec.method, &self.spec.headers, self.profile) {
            Ok(p) => p,
            Err(e) => return self.script_error(e.1),
        };
        if !prepared.dropped.is_empty() {
            let dropped = prepared.dropped.join(", ");
            self.note(
                Stage::Request,
                None,
                format!(
                    "the browser silently drops forbidden headers set by the script: {dropped}"
                ),
            );
        }
        if prepared.method != self.spec.method {
            let m = prepared.method.clone();
            self.note(
                Stage::Request,
                None,
                format!("the method is normalized to {m}"),
            );
        }
        self.initial_url = url.to_string();
        self.method = prepared.method;
        self.headers = prepared.headers;
        let script_headers = self.headers.len();
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            // fetch() adds `Accept: */*` before the CORS checks, so it
            // counts towards the 1,024-byte budget of safelisted values.
            self.headers.push(("Accept".to_owned(), b"*/*".to_vec()));
            self.note(
                Stage::Request,
                None,
                "fetch() adds Accept: */* (the script set no Accept)",
            );
        }
        if self.profile == Profile::Chromium {
            // The network service sees the script's headers in Blink's
            // hash-map order (the default Accept after them), which decides
            // which missing header a preflight names.
            let hints = potentially_trustworthy(&url)
                && Url::parse(&self.page_origin).is_ok_and(|o| potentially_trustworthy(&o));
            let names: Vec<String> = self
                .headers
                .iter()
                .take(script_headers)
                .map(|(n, _)| n.clone())
                .collect();
            let order = chromium_order(&names, hints);
            self.headers.sort_by_key(|(n, _)| {
                order
                    .iter()
                    .position(|o| o.eq_ignore_ascii_case(n))
                    .unwrap_or(usize::MAX)
            });
        }
        self.cors_flag = !same_origin(&self.page_origin, &url);
        self.url = Some(url);
        self.begin_hop()
    }

    /// Local Network Access, checked before each connection: Chromium
    /// blocks a request from a more public page to a less public target
    /// without the permission. Firefox's and WebKit's profiles apply no
    /// such check; the trace says that Chromium would.
    fn local_network_check(&mut self, url: &str) -> Option<Step> {
        let block = lna::check(&self.page_origin, url, &self.network)?;
        let (error, space) = match block {
            LnaBlock::PermissionDenied(space) => {
                (CorsError::LocalNetworkAccessPermissionDenied, space)
            }
            LnaBlock::InsecureContext(space) => (CorsError::InsecureLocalNetwork, space),
        };
        let page = lna::spaces(&self.page_origin, url, &self.network)
            .page
            .map_or("?", |p| p.as_str());
        if self.profile != Profile::Chromium {
            self.note(
                Stage::Classify,
                None,
                format!(
                    "a {page} page fetching the {} address space: Chromium 142+ would need the Local Network Access permission ({}); this profile applies no such check (not verified in {})",
                    space.as_str(),
                    space.permission(),
                    self.profile.as_str()
                ),
            );
            return None;
        }
        let why = match block {
            LnaBlock::PermissionDenied(_) => format!(
                "Local Network Access: a {page} page fetching the {} address space needs the user's `{}` permission, which it does not have (prompt dismissed or denied); no CORS header changes this (verified in Chromium 156 for a public page fetching loopback with the permission denied or granted; other spaces and redirects follow Chromium's sources, unverified)",
                space.as_str(),
                space.permission()
            ),
            LnaBlock::InsecureContext(_) => format!(
                "Local Network Access: a {page} page that is not a secure context (not HTTPS) cannot be granted access to the {} address space; Chromium blocks without a prompt (predicted from Chromium's sources, not verified in a browser by corsica's harness)",
                space.as_str()
            ),
        };
        self.note(Stage::Classify, Some(false), why);
        Some(self.block(
            Stage::Classify,
            Failure {
                error,
                hint: space.as_str().as_bytes().to_vec(),
            },
        ))
    }

    /// Decides between a preflight and the request itself for the current URL.
    fn begin_hop(&mut self) -> Step {
        let url = self.current_url();
        if let Some(step) = self.local_network_check(&url) {
            return step;
        }
        self.unsafe_names = unsafe_headers(&self.headers, self.profile);
        if self.redirects == 0 {
            self.first_unsafe = self.unsafe_names.clone();
        } else if self.profile == Profile::Firefox {
            // Firefox's preflights after a redirect name the first
            // request's unsafe headers, less those the last redirect
            // removed (`Authorization` across origins, the body headers
            // when the method became GET); a later redirect brings them
            // back (observed, Firefox 153).
            let (crossed, changed) = (self.crossed_origin, self.changed_method);
            self.unsafe_names = self
                .first_unsafe
                .iter()
                .filter(|u| !(crossed && u.name == "authorization"))
                .filter(|u| !(changed && BODY_HEADERS.contains(&u.name.as_str())))
                .cloned()
                .collect();
        }
        if !self.cors_flag {
            self.note(
                Stage::Classify,
                None,
                format!("{url} is same-origin with the page: no CORS checks apply"),
            );
            return self.send_actual(Skipped::SameOrigin);
        }
        let mut reasons = Vec::new();
        if self.profile == Profile::Firefox && self.redirects > 0 && !self.first_unsafe.is_empty() {
            reasons.push(
                "the first request had CORS-unsafe headers, and Firefox decides on a preflight from that list after a redirect".to_owned(),
            );
        }
        if self.profile.preflights_after_preflighted_redirect()
            && self.redirects > 0
            && self.needed_preflight
        {
            // Needed, not sent: a preflight served from the cache counts
            // (observed in Firefox 153 and WebKitGTK 2.50).
            reasons.push(
                "an earlier URL of this fetch needed a preflight (sent or served from the cache), and this browser keeps preflighting after a redirect".to_owned(),
            );
        }
        if self.spec.force_preflight {
            reasons.push(
                "the request forces a preflight (streaming body or upload listener)".to_owned(),
            );
        }
        if !crate::method::is_safelisted(&self.method.to_ascii_uppercase()) {
            reasons.push(format!(
                "method {} is not CORS-safelisted (only GET, HEAD and POST are)",
                self.method
            ));
        }
        for u in &self.unsafe_names {
            let why = match &u.reason {
                super::safelist::Unsafe::Name => "is not a CORS-safelisted header".to_owned(),
                super::safelist::Unsafe::TooLong => "has a value longer than 128 bytes".to_owned(),
                super::safelist::Unsafe::Value(why) => format!("has a value that {why}"),
            };
            reasons.push(format!("header {} {why}", u.name));
        }
        if reasons.is_empty() {
            self.note(
                Stage::Classify,
                None,
                format!(
                    "cross-origin request from {}: a simple request, sent without a preflight",
                    self.request_origin()
                ),
            );
            return self.send_actual(Skipped::NoPreflight);
        }
        self.needed_preflight = true;
        let origin = self.preflight_origin().to_owned();
        self.note(
            Stage::Classify,
            None,
            format!(
                "cross-origin request from {} that needs a preflight: {}",
                self.request_origin(),
                reasons.join("; ")
            ),
        );
        let lookup = Lookup {
            method: &self.method,
            unsafe_headers: &self.unsafe_names,
            credentials: self.spec.credentials,
        };
        let key = self.cache_key(&origin);
        if self.reads_preflight_cache()
            && self
                .cache
                .allows_in(self.profile, &key, &url, &lookup, self.now)
        {
            self.note(
                Stage::Cache,
                Some(true),
                "a cached preflight result covers this request: no preflight is sent",
            );
            return self.send_actual(Skipped::CachedPreflight);
        }
        self.send_preflight()
    }

    fn send_preflight(&mut self) -> Step {
        let url = self.current_url();
        let origin = self.preflight_origin().to_owned();
        let acrh = request_headers_value(&self.unsafe_names, self.profile);
        let mut headers = vec![
            ("Accept".to_owned(), b"*/*".to_vec()),
            (
                "Access-Control-Request-Method".to_owned(),
                self.method.clone().into_bytes(),
            ),
        ];
        if let Some(acrh) = &acrh {
            headers.push((
                "Access-Control-Request-Headers".to_owned(),
                acrh.clone().into_bytes(),
            ));
        }
        headers.push(("Origin".to_owned(), origin.clone().into_bytes()));
        let request = SentRequest {
            leg: Leg::Preflight,
            method: "OPTIONS".into(),
            url: url.clone(),
            origin: Some(origin.clone()),
            request_method: Some(self.method.clone()),
            request_headers: acrh.clone(),
            credentials: false,
        };
        let mut text = format!(
            "OPTIONS {url}\n  Origin: {origin}\n  Access-Control-Request-Method: {}",
            self.method
        );
        if let Some(acrh) = &acrh {
            text.push_str(&format!("\n  Access-Control-Request-Headers: {acrh}"));
        }
        text.push_str("\n  (no cookies: preflights never carry credentials)");
        self.note(Stage::Preflight, None, text);
        self.requests.push(request.clone());
        self.awaiting = Some(Leg::Preflight);
        Step::Send(Outgoing { request, headers })
    }

    /// Sends the request itself; `cleared_by` is what let it go out, for
    /// [`Simulation::skip_actual`].
    fn send_actual(&mut self, cleared_by: Skipped) -> Step {
        self.cleared_by = cleared_by;
        let url = self.current_url();
        let credentials = match self.spec.credentials {
            Credentials::Include => true,
            Credentials::Omit => false,
            Credentials::SameOrigin => !self.cors_flag,
        };
        // Fetch adds `Origin` to every CORS request and to same-origin
        // requests other than GET and HEAD.
        // WebKit re-sends the first request's headers after a redirect,
        // `Origin` included.
        let kept = self.profile.restores_headers_on_redirect()
            && self
                .requests
                .iter()
                .any(|r| r.leg == Leg::Actual && r.origin.is_some());
        let origin = (self.cors_flag || kept || !matches!(self.method.as_str(), "GET" | "HEAD"))
            .then(|| self.request_origin().to_owned());
        let mut headers = self.headers.clone();
        if let Some(origin) = &origin {
            headers.push(("Origin".to_owned(), origin.clone().into_bytes()));
        }
        let request = SentRequest {
            leg: Leg::Actual,
            method: self.method.clone(),
            url: url.clone(),
            origin: origin.clone(),
            request_method: None,
            request_headers: None,
            credentials,
        };
        let mut text = format!("{} {url}", self.method);
        if let Some(origin) = &origin {
            text.push_str(&format!("\n  Origin: {origin}"));
        }
        for (n, v) in &self.headers {
            text.push_str(&format!("\n  {n}: {}", latin1(v)));
        }
        if credentials {
            text.push_str("\n  (with cookies and HTTP authentication)");
        }
        self.note(Stage::Actual, None, text);
        self.requests.push(request.clone());
        self.awaiting = Some(Leg::Actual);
        Step::Send(Outgoing { request, headers })
    }

    /// Feeds the response to the request last returned by [`Step::Send`].
    pub fn on_response(&mut self, response: Incoming) -> Step {
        self.last_response = Some(response.clone());
        match self.awaiting.take() {
            Some(Leg::Preflight) => self.on_preflight_response(response),
            Some(Leg::Actual) => self.on_actual_response(response),
            None => Step::Done,
        }
    }

    /// Ends the fetch instead of sending the request a [`Step::Send`] of
    /// leg [`Leg::Actual`] asked for: `check --preflight-only` judges a
    /// live preflight without performing a request that may change data
    /// (a `DELETE` is a `DELETE`). Returns [`Step::Done`]; the verdict's
    /// `skipped_actual` says what cleared the request (a passing or cached
    /// preflight, same origin, or nothing, for a request that needs no
    /// preflight), and `allowed` is false since no response reached the
    /// script. Only the current URL is judged: where the request itself
    /// would have been redirected is not known.
    ///
    /// Returns `None`, changing nothing, when the request itself is not the
    /// one awaited (a preflight is pending, or the fetch is over).
    pub fn skip_actual(&mut self) -> Option<Step> {
        if self.awaiting != Some(Leg::Actual) {
            return None;
        }
        self.awaiting = None;
        // `send_actual` recorded the request as sent and described it.
        if self.requests.last().is_some_and(|r| r.leg == Leg::Actual) {
            self.requests.pop();
        }
        if let Some(event) = self
            .trace
            .iter_mut()
            .rev()
            .find(|e| e.stage == Stage::Actual)
        {
            event.text = format!("not sent (preflight only): {}", event.text);
        }
        let (ok, why) = match self.cleared_by {
            Skipped::PreflightPassed => (
                Some(true),
                "stopped after the preflight: the request itself was not sent, so its response is unchecked",
            ),
            Skipped::CachedPreflight => (
                Some(true),
                "a cached preflight result covers the request; it was not sent, so its response is unchecked",
            ),
            Skipped::SameOrigin => (
                Some(true),
                "same-origin: CORS does not apply to this URL, and the request was not sent",
            ),
            Skipped::NoPreflight => (
                None,
                "nothing was sent: the browser sends this request without a preflight, so there is no preflight to check",
            ),
        };
        self.note(Stage::Verdict, ok, why);
        self.outcome = Some(Outcome::Skipped(self.cleared_by));
        Some(Step::Done)
    }

    /// The request failed at the network level (connection refused, TLS,
    /// timeout): the fetch rejects without a CORS error.
    pub fn on_network_error(&mut self, error: &str) -> Step {
        self.awaiting = None;
        self.network_error(error.to_owned())
    }

    fn on_preflight_response(&mut self, response: Incoming) -> Step {
        let h = &response.headers;
        self.note(
            Stage::PreflightResponse,
            None,
            describe_response(response.status, &response.headers, true),
        );
        let origin = self.preflight_origin().to_owned();
        // Firefox's preflight to a URL of the page's own origin (after a
        // redirect) is not a cross-origin request to it: no CORS check.
        let checked = !(self.profile.preflight_keeps_page_origin()
            && self
                .url
                .as_ref()
                .is_some_and(|u| same_origin(&self.page_origin, u)));
        if is_redirect(&response, self.profile) {
            self.preflight_redirected = true;
            // Firefox runs the CORS check on the redirect response first.
            if checked && !self.profile.refuses_preflight_redirect_first() {
                if let Err(f) = cors_check(h, &origin, self.spec.credentials) {
                    return self.block(
                        Stage::PreflightResponse,
                        Failure {
                            error: f.error.for_preflight(),
                            hint: f.hint,
                        },
                    );
                }
            }
            return self.block(
                Stage::PreflightResponse,
                Failure::bare(CorsError::PreflightDisallowedRedirect),
            );
        }
        let check = if checked {
            cors_check(h, &origin, self.spec.credentials)
        } else {
            Ok(())
        };
        if let Err(f) = check {
            if self.profile == Profile::WebKit {
                // A preflight failing its CORS check drops the URL's cached
                // result in WebKit (a failing method or header does not;
                // observed, WebKitGTK 2.50: harness seed 2, gen-1515).
                let (key, url) = (self.cache_key(&origin), self.current_url());
                self.cache.clear(&key, &url);
            }
            return self.block(
                Stage::PreflightResponse,
                Failure {
                    error: f.error.for_preflight(),
                    hint: f.hint,
                },
            );
        }
        let passed = if checked {
            allow_origin_passed(h, &origin, self.spec.credentials)
        } else {
            "Firefox does not check Access-Control-Allow-Origin on a preflight to the page's own origin".to_owned()
        };
        self.note(Stage::PreflightResponse, Some(true), passed);
        if !(200..=299).contains(&response.status) {
            return self.block(
                Stage::PreflightResponse,
                Failure::bare(CorsError::PreflightInvalidStatus),
            );
        }
        let max_age = self
            .profile
            .cache_seconds(h.get("access-control-max-age").as_deref());
        let result = match PreflightResult::parse(h, self.spec.credentials, max_age) {
            Ok(r) => r,
            Err(f) => {
                let f = self.firefox_method_first(h, max_age).unwrap_or(f);
                return self.block(Stage::PreflightResponse, f);
            }
        };
        if let Err(f) = result.check_method(&self.method) {
            return self.block(Stage::PreflightResponse, f);
        }
        if let Err(f) = result.check_headers(&self.unsafe_names) {
            if self.profile == Profile::WebKit && self.stores_preflight_cache() {
                // WebKit caches a result whose method passed even when a
                // header then fails: a later request needing only the
                // method is served from it (observed, WebKitGTK 2.50).
                let (key, url) = (self.cache_key(&origin), self.current_url());
                self.cache.store(&key, &url, result, self.now);
            }
            return self.block(Stage::PreflightResponse, f);
        }
        let mut allowed = format!("the preflight allows {}", self.method);
        if !self.unsafe_names.is_empty() {
            let names: Vec<&str> = self.unsafe_names.iter().map(|u| u.name.as_str()).collect();
            allowed.push_str(&format!(" with {}", names.join(", ")));
        }
        allowed.push_str(&format!(
            "; the browser caches this for {max_age} s ({} caps at {} s)",
            self.profile.as_str(),
            self.profile.max_age_cap()
        ));
        self.note(Stage::PreflightResponse, Some(true), allowed);
        let url = self.current_url();
        if self.stores_preflight_cache() {
            let key = self.cache_key(&origin);
            self.cache.store(&key, &url, result, self.now);
        }
        self.send_actual(Skipped::PreflightPassed)
    }

    fn on_actual_response(&mut self, response: Incoming) -> Step {
        self.note(
            Stage::Response,
            None,
            describe_response(response.status, &response.headers, false),
        );
        if conflicting_locations(&response.headers) {
            match self.profile {
                Profile::Chromium => {
                    return self.network_error("net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION".into())
                }
                Profile::Firefox => return self.network_error("NS_ERROR_CORRUPTED_CONTENT".into()),
                Profile::WebKit => {}
            }
        }
        if self.profile == Profile::WebKit
            && is_redirect_status(response.status)
            && first_location(&response.headers).is_some_and(|l| l.is_empty())
        {
            // WebKit's network layer fails a redirect whose (first)
            // Location is empty.
            return self.network_error("empty Location".into());
        }
        let origin = self.request_origin().to_owned();
        if is_redirect(&response, self.profile) {
            if self.profile == Profile::Firefox && self.redirects < MAX_REDIRECTS {
                // Firefox refuses a redirect to a `data:` URL before it
                // checks the redirect response's CORS headers; `ftp:` and
                // `about:` are refused after that check (observed, Firefox
                // 153: harness seeds 1 and 2).
                let location =
                    redirect_location(&response.headers, self.profile).unwrap_or_default();
                let next = self
                    .url
                    .as_ref()
                    .and_then(|u| u.join(&latin1(&location)).ok());
                if next.is_some_and(|n| n.scheme() == "data") {
                    return self.network_error("NS_ERROR_DOM_BAD_URI".into());
                }
            }
            if self.cors_flag {
                if let Err(f) = cors_check(&response.headers, &origin, self.spec.credentials) {
                    return self.block(Stage::Redirect, f);
                }
                self.note(
                    Stage::Redirect,
                    Some(true),
                    "the redirect response itself passes the CORS check",
                );
            }
            return self.follow_redirect(&response);
        }
        if self.cors_flag {
            if let Err(f) = cors_check(&response.headers, &origin, self.spec.credentials) {
                return self.block(Stage::Response, f);
            }
            self.note(
                Stage::Response,
                Some(true),
                allow_origin_passed(&response.headers, &origin, self.spec.credentials),
            );
        }
        let readable = readable_headers(
            &self.spec.read_headers,
            &response.headers,
            self.spec.credentials,
            self.cors_flag,
        );
        for (name, value) in &readable {
            let text = match value {
                Some(v) => format!("response.headers.get('{name}') returns '{v}'"),
                None if response.headers.contains(name) => format!("response.headers.get('{name}') returns null: the header is not exposed (Access-Control-Expose-Headers)"),
                None => format!("response.headers.get('{name}') returns null: the response has no such header"),
            };
            self.note(
                Stage::Response,
                Some(value.is_some() || !response.headers.contains(name)),
                text,
            );
        }
        let hidden = readable
            .iter()
            .filter(|(name, value)| value.is_none() && response.headers.contains(name))
            .map(|(name, _)| name.clone())
            .collect();
        self.outcome = Some(Outcome::Allowed(readable, hidden));
        self.note(
            Stage::Verdict,
            Some(true),
            "allowed: the script receives the response",
        );
        Step::Done
    }

    fn follow_redirect(&mut self, response: &Incoming) -> Step {
        let Some(current) = self.url.clone() else {
            return self.network_error("net::ERR_FAILED".into());
        };
        if self.redirects == MAX_REDIRECTS {
            return self.network_error("net::ERR_TOO_MANY_REDIRECTS".into());
        }
        let location = redirect_location(&response.headers, self.profile).unwrap_or_default();
        let Ok(next) = current.join(&latin1(&location)) else {
            return self.network_error("net::ERR_INVALID_REDIRECT".into());
        };
        if !matches!(next.scheme(), "http" | "https") && self.profile != Profile::Chromium {
            // Firefox refuses the redirect as a network error, blaming the
            // URL that redirected.
            return self.network_error("NS_ERROR_DOM_BAD_URI".into());
        }
        if !matches!(next.scheme(), "http" | "https") {
            // Schemes the network stack knows refuse to be redirected to;
            // any other scheme reaches the CORS layer, which refuses it by
            // name (Chromium 156, observed).
            if matches!(next.scheme(), "data" | "file" | "about" | "blob") {
                return self.network_error("net::ERR_UNSAFE_REDIRECT".into());
            }
            self.redirects += 1;
            self.url = Some(next);
            return self.block(
                Stage::Redirect,
                Failure::with(CorsError::CorsDisabledScheme, CORS_SCHEMES.as_bytes()),
            );
        }
        // A Location with credentials is refused before the redirect is
        // followed, so the console names the URL that redirected, without
        // "(redirected from ...)" for the first hop.
        let has_credentials = !next.username().is_empty() || next.password().is_some();
        // WebKit lets a same-origin request that will need a preflight go
        // on to it (observed: the preflight goes out, without the
        // credentials); a simple one it refuses.
        let webkit_goes_on = self.profile == Profile::WebKit && self.needs_preflight_now();
        let checks_target = !same_origin(&self.page_origin, &next) && !webkit_goes_on;
        if has_credentials && (self.tainted || checks_target || self.cors_flag) {
            return self.block(
                Stage::Redirect,
                Failure::bare(CorsError::RedirectContainsCredentials),
            );
        }
        if has_credentials && self.profile == Profile::Chromium {
            // Fetch allows a same-origin redirect to a URL with
            // credentials; Blink blocks every subresource redirect to one
            // (DevTools shows `(blocked:origin)`), with no CORS error.
            self.note(
                Stage::Redirect,
                Some(false),
                format!("Chromium refuses to follow a redirect to a URL with credentials ({next})"),
            );
            return self.network_error("blocked:origin".into());
        }
        self.redirects += 1;
        let status = response.status;
        let old_method = self.method.clone();
        let crosses = next.origin() != current.origin();
        let as_get = (status == 303 && !matches!(self.method.as_str(), "GET" | "HEAD"))
            || (matches!(status, 301 | 302) && self.method == "POST")
            || (crosses && self.method == "DELETE" && self.profile.redirects_delete_as_get());
        if as_get {
            self.method = "GET".to_owned();
        }
        self.changed_method = as_get && old_method != "GET";
        if as_get && !self.profile.restores_headers_on_redirect() {
            self.headers
                .retain(|(n, _)| !BODY_HEADERS.iter().any(|b| b.eq_ignore_ascii_case(n)));
        }
        // Firefox keeps `Authorization` on the request and leaves it out of
        // the next preflight only.
        self.crossed_origin = crosses;
        if crosses
            && !self.profile.restores_headers_on_redirect()
            && self.profile != Profile::Firefox
        {
            self.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        }
        if self.profile == Profile::Chromium && !same_origin(&self.page_origin, &next) {
            // On a redirect to another origin than the page's, Chromium
            // drops client-hint headers (to re-add only those that origin
            // opted into), even the ones the script set itself.
            self.headers.retain(|(n, _)| !is_client_hint(n));
        }
        if next.origin() != current.origin() && !same_origin(&self.page_origin, &current) {
            self.tainted = true;
        }
        let mut text = format!("{status} redirect to {next}");
        if self.method != old_method {
            text.push_str(&format!("; the method becomes {}", self.method));
        }
        if self.tainted {
            text.push_str("; the redirect crossed origins from a cross-origin URL, so the request's origin is now `null`");
        }
        self.note(Stage::Redirect, None, text);
        self.cors_flag = self.cors_flag || !same_origin(&self.page_origin, &next);
        self.url = Some(next);
        self.begin_hop()
    }

    /// Firefox checks the method against `Access-Control-Allow-Methods`
    /// before it parses `Access-Control-Allow-Headers`: when the latter
    /// does not parse, a method it does not list is the failure reported.
    fn firefox_method_first(&self, h: &ResponseHeaders, max_age: u64) -> Option<Failure> {
        if self.profile != Profile::Firefox {
            return None;
        }
        let methods_only = ResponseHeaders::new(
            h.iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("access-control-allow-headers"))
                .map(|(n, v)| (n.to_owned(), v.to_vec()))
                .collect(),
        );
        PreflightResult::parse(&methods_only, self.spec.credentials, max_age)
            .ok()?
            .check_method(&self.method)
            .err()
    }

    /// Whether the request, as it stands, needs a preflight when it goes
    /// cross-origin.
    fn needs_preflight_now(&self) -> bool {
        self.spec.force_preflight
            || !crate::method::is_safelisted(&self.method.to_ascii_uppercase())
            || !self.unsafe_names.is_empty()
    }

    fn block(&mut self, stage: Stage, failure: Failure) -> Step {
        self.blocked_at = Some(stage);
        if self.profile == Profile::Firefox {
            // Firefox does what Fetch says: a failed CORS check drops the
            // URL's cached preflight results.
            // Both of the URL's results go, credentialed or not.
            let origin = self.preflight_origin().to_owned();
            let url = self.current_url();
            self.cache.clear(&origin, &url);
            self.cache.clear(&format!("{origin} (credentialed)"), &url);
        }
        // Fetch clears the preflight cache for the URL here; Chromium 156
        // does not (a failed actual response leaves the cached preflight
        // result in place, observed), and a failed preflight never stored
        // one. So the cache is left alone.
        let detail = failure.error.detail(&escape_hint(&failure.hint));
        self.note(
            stage,
            Some(false),
            format!("{}: {detail}", failure.error.name()),
        );
        self.outcome = Some(Outcome::Blocked(failure));
        let rejection = rejection::network(self.profile);
        self.note(
            Stage::Verdict,
            Some(false),
            format!("blocked: fetch() rejects with {rejection}"),
        );
        Step::Done
    }

    fn script_error(&mut self, why: Thrown) -> Step {
        let message = why.message(self.profile);
        self.note(
            Stage::Verdict,
            Some(false),
            format!("fetch() throws before sending anything: TypeError: {message}"),
        );
        self.outcome = Some(Outcome::Script(message));
        Step::Done
    }

    fn network_error(&mut self, message: String) -> Step {
        self.note(
            Stage::Verdict,
            Some(false),
            format!("the fetch fails with a network error: {message}"),
        );
        self.outcome = Some(Outcome::Network(message));
        Step::Done
    }

    /// The preflight cache, to carry into a later fetch.
    pub fn cache(&self) -> &PreflightCache {
        &self.cache
    }

    /// The verdict. Call after [`Step::Done`].
    pub fn finish(self) -> Verdict {
        let origin = self.request_origin().to_owned();
        let blank: BTreeMap<String, Option<String>> = self
            .spec
            .read_headers
            .iter()
            .map(|n| (n.clone(), None))
            .collect();
        let (allowed, error, readable, hidden, js_error, network_error) = match &self.outcome {
            Some(Outcome::Allowed(r, h)) => (true, None, r.clone(), h.clone(), None, None),
            Some(Outcome::Blocked(f)) => (false, Some(f.clone()), blank, vec![], None, None),
            Some(Outcome::Script(m)) => (false, None, blank, vec![], Some(m.clone()), None),
            Some(Outcome::Network(m)) => (false, None, blank, vec![], None, Some(m.clone())),
            Some(Outcome::Skipped(_)) => (false, None, blank, vec![], None, None),
            None => (
                false,
                None,
                blank,
                vec![],
                None,
                Some("the fetch did not finish".to_owned()),
            ),
        };
        let redirected = (self.redirects > 0).then_some(self.initial_url.as_str());
        let url = self.current_url();
        let console_message = error.as_ref().map(|f| {
            let at = Blocked {
                url: &url,
                initial: redirected,
                page_origin: &self.page_origin,
                response: self.last_response.as_ref().map(|r| (r.status, &r.headers)),
                at: self.blocked_at.unwrap_or(Stage::Response),
                preflight_redirected: self.preflight_redirected,
            };
            console::message(self.profile, f, &at)
        });
        // Firefox also logs a failed cross-origin request that no CORS
        // check refused (a redirect it will not follow).
        let console_message = match &self.outcome {
            Some(Outcome::Network(_)) if self.profile == Profile::Firefox && self.cors_flag => {
                Some(console::firefox_did_not_succeed(&url))
            }
            _ => console_message,
        };
        let fetch_error = match &self.outcome {
            Some(Outcome::Blocked(_) | Outcome::Network(_)) => {
                Some(rejection::network(self.profile).to_owned())
            }
            Some(Outcome::Script(m)) => Some(format!("TypeError: {m}")),
            _ => None,
        };
        let skipped_actual = match self.outcome {
            Some(Outcome::Skipped(why)) => Some(why),
            _ => None,
        };
        let fix_input = FixInput {
            origin: &origin,
            method: if self.method.is_empty() {
                &self.spec.method
            } else {
                &self.method
            },
            needs_preflight: self.spec.force_preflight
                || !crate::method::is_safelisted(&self.method.to_ascii_uppercase())
                || !self.unsafe_names.is_empty(),
            unsafe_headers: {
                let mut names: Vec<String> =
                    self.unsafe_names.iter().map(|u| u.name.clone()).collect();
                names.sort();
                names.dedup();
                names
            },
            credentials: self.spec.credentials,
            read_headers: &self.spec.read_headers,
            hidden_headers: if allowed && self.cors_flag {
                hidden
            } else {
                Vec::new()
            },
            skipped: skipped_actual,
            lna_space: error
                .as_ref()
                .filter(|f| f.error.is_local_network_access())
                .and_then(|f| std::str::from_utf8(&f.hint).ok()),
        };
        let fix = fix(&fix_input, error.as_ref().map(|f| f.error));
        Verdict {
            id: self.id,
            preflight: self.requests.iter().any(|r| r.leg == Leg::Preflight),
            actual_sent: self.requests.iter().any(|r| r.leg == Leg::Actual),
            allowed,
            cors_error: error.as_ref().map(|f| f.error),
            // The scheme list in a CorsDisabledScheme message and the
            // address space of a Local Network Access one are not failed
            // parameters: DevTools reports them empty (both observed).
            failed_parameter: error.as_ref().map(|f| {
                if f.error == CorsError::CorsDisabledScheme || f.error.is_local_network_access() {
                    String::new()
                } else {
                    failed_parameter(&f.hint)
                }
            }),
            console_message,
            fetch_error,
            readable_headers: readable,
            fix,
            js_error,
            network_error,
            skipped_actual,
            requests: self.requests,
            trace: self.trace,
        }
    }
}

/// Whether a response is a redirect the browser follows: a redirect status
/// and a `Location` to follow (Chromium and WebKit ignore empty ones;
/// Firefox follows an empty one to the same URL, as Fetch says).
fn is_redirect(response: &Incoming, profile: Profile) -> bool {
    is_redirect_status(response.status) && redirect_location(&response.headers, profile).is_some()
}

fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The schemes Chromium 156 names in `CorsDisabledScheme` messages, as it
/// lists them.
pub const CORS_SCHEMES: &str = "chrome, chrome-experimental-site-token-provider, chrome-extension, chrome-untrusted, data, http, https, isolated-app";

/// Whether a URL is potentially trustworthy (a secure context could load
/// it): HTTPS, or a loopback host. The simulator assumes Blink adds the
/// user-agent client hints only when the page and the URL both are (only
/// loopback pages were observed).
fn potentially_trustworthy(url: &Url) -> bool {
    if matches!(url.scheme(), "https" | "wss") {
        return true;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        None => false,
    }
}

/// Whether a serialized page origin is the origin of `url`.
fn same_origin(page_origin: &str, url: &Url) -> bool {
    let origin = url.origin();
    origin.is_tuple() && origin.ascii_serialization() == page_origin
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
