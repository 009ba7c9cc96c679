//! Envoy 1.40, without its CORS filter: that filter never checks the
//! requested method or headers, always answers 200, and forwards refused
//! preflights by default. Instead each route becomes a few route entries,
//! first match wins: preflights the policy allows get a `direct_response`
//! with the engine's status and headers, other preflights its refusal, and
//! actual requests go upstream with the upstream's CORS headers removed and
//! the answer's added (route-level headers also reach Envoy's own 503/504).
//!
//! Envoy's HTTP/1 codec joins the lines of `Origin`,
//! `Access-Control-Request-Method` and `Access-Control-Request-Headers`
//! with `,` before any filter runs (its CORS extension registers them as
//! inline headers): a split header list reads as the engine reads it, a
//! repeated `Origin` or method fails its expression, and `*` refuses an
//! `Origin` holding a comma.
//!
//! The output is JSON, which is YAML: `envoy -c FILE.yaml --base-id N`.

use serde_json::{json, Value as Json};

use crate::plan::{Plan, RoutePlan, UpstreamTls, SYSTEM_CA_BUNDLE};
use crate::probe::{Headers, Value};
use crate::regex;

/// A header value in Envoy's formatter syntax (`%` starts a command).
fn value(v: &Value) -> String {
    match v {
        Value::Static(text) => text.replace('%', "%%"),
        Value::EchoOrigin => "%REQ(origin)%".into(),
        Value::EchoMethod => "%REQ(access-control-request-method)%".into(),
        Value::EchoRequestHeaders => "%REQ(access-control-request-headers)%".into(),
    }
}

fn add(headers: &Headers) -> Vec<Json> {
    headers
        .iter()
        .map(|(name, v)| {
            // `Vary` goes beside the upstream's; the rest replace.
            let action = if name == http::header::VARY {
                "APPEND_IF_EXISTS_OR_ADD"
            } else {
                "OVERWRITE_IF_EXISTS_OR_ADD"
            };
            json!({"header": {"key": name.as_str(), "value": value(v)}, "append_action": action})
        })
        .collect()
}

fn regex_header(name: &str, re: &str) -> Json {
    json!({"name": name, "string_match": {"safe_regex": {"regex": re}}})
}

fn present(name: &str) -> Json {
    json!({"name": name, "present_match": true})
}

fn absent(name: &str) -> Json {
    json!({"name": name, "present_match": false})
}

/// A matcher that refuses an `Access-Control-Request-Headers` longer than
/// the engine reads. RE2 counts to 1000 and refuses nested counts whose
/// product is larger, so the bound is written as a sequence.
fn list_fits() -> Json {
    let max = corsica::MAX_ACRH_LEN + 1;
    let mut too_long = ".{1000}".repeat(max / 1000);
    too_long.push_str(&format!(".{{{}}}.*", max % 1000));
    json!({
        "name": "access-control-request-headers",
        "string_match": {"safe_regex": {"regex": too_long}},
        "invert_match": true,
    })
}

/// The path matcher of a prefix, at a segment boundary.
fn path_match(prefix: &str) -> Json {
    if prefix.ends_with('/') {
        json!({"prefix": prefix})
    } else {
        json!({"safe_regex": {"regex": format!("{}(?:[/;].*)?", regex::escape(prefix))}})
    }
}

/// Whole route entries for one location.
fn entries(prefix: &str, i: usize, route: &RoutePlan, timeout_ms: u128) -> Vec<Json> {
    let path = path_match(prefix);
    let forward = json!({"cluster": format!("corsica_r{i}"), "timeout": format!("{}s", timeout_ms as f64 / 1000.0)});
    let Some(cors) = &route.cors else {
        return vec![json!({"match": path, "route": forward})];
    };
    let mut out = Vec::new();
    let entry = |headers: Vec<Json>| {
        let mut m = path.clone();
        m["headers"] = Json::Array(headers);
        m
    };
    let origin_ok = match &cors.origins {
        // `*`: any one origin; a comma means joined lines (the engine refuses
        // those, and would allow one such line, which browsers never send).
        None => vec![regex_header("origin", "[^,]*")],
        Some(list) => vec![
            regex_header("origin", &format!("(?:{})", list.join("|"))),
            // A host past DNS's limit, which a `*.` pattern's labels could
            // add up to, is refused as the engine refuses it.
            json!({
                "name": "origin",
                "string_match": {"safe_regex": {"regex": format!("{}.*", regex::host_too_long())}},
                "invert_match": true,
            }),
        ],
    };
    let preflight = vec![
        regex_header(":method", "OPTIONS"),
        present("origin"),
        present("access-control-request-method"),
    ];
    let a = &cors.answers;
    let remove: Vec<String> = corsica::policy::CORS_RESPONSE_HEADERS
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    let denied = json!({
        "match": entry(preflight.clone()),
        "direct_response": {"status": a.preflight_denied_status},
        "response_headers_to_add": add(&a.preflight_denied),
    });
    if cors.any_method {
        let mut h = preflight.clone();
        h.push(regex_header(
            "access-control-request-method",
            &format!("(?i){}", regex::forbidden_methods()),
        ));
        let mut r = denied.clone();
        r["match"] = entry(h);
        out.push(r);
    }
    let ok_headers = |names: Option<bool>| {
        let mut h = preflight.clone();
        h.extend(origin_ok.iter().cloned());
        h.push(regex_header("access-control-request-method", &cors.methods));
        match names {
            // The request names a header: the list must be allowed.
            Some(true) => {
                h.push(regex_header(
                    "access-control-request-headers",
                    &format!("(?i){}", cors.request_headers),
                ));
                h.push(regex_header(
                    "access-control-request-headers",
                    &format!(".*{}.*", regex::TOKEN),
                ));
                h.push(list_fits());
            }
            // No header named: empty, or whitespace only.
            Some(false) => h.push(regex_header("access-control-request-headers", "[\\t ]*")),
            None => h.push(absent("access-control-request-headers")),
        }
        h
    };
    for names in [Some(true), Some(false), None] {
        let mut headers = add(&a.preflight_ok);
        if names == Some(true) {
            if let Some(v) = &a.preflight_allow_headers {
                headers.extend(add(&vec![(
                    http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                    v.clone(),
                )]));
            }
        }
        out.push(json!({
            "match": entry(ok_headers(names)),
            "direct_response": {"status": a.preflight_ok_status},
            "response_headers_to_add": headers,
        }));
    }
    out.push(denied);
    for (headers, answer) in [
        (origin_ok.clone(), &a.actual_ok),
        (vec![present("origin")], &a.actual_denied),
        (vec![], &a.non_cors),
    ] {
        out.push(json!({
            "match": entry(headers),
            "route": forward,
            "response_headers_to_remove": remove,
            "response_headers_to_add": add(answer),
        }));
    }
    out
}

/// The whole configuration.
pub fn whole(plan: &Plan) -> String {
    let listener = json!({
        "name": "corsica",
        "address": {"socket_address": {"address": plan.listen.ip().to_string(), "port_value": plan.listen.port()}},
        "filter_chains": [{"filters": [hcm(plan)]}],
    });
    let doc = json!({
        "static_resources": {"listeners": [listener], "clusters": clusters(plan)},
        // Exact port ranges and label lengths make RE2 programs larger than
        // Envoy's default limit of 100.
        "layered_runtime": {"layers": [{"name": "corsica", "static_layer": {
            "re2.max_program_size.error_level": 100_000,
            "re2.max_program_size.warn_level": 100_000,
        }}]},
    });
    format!(
        "# Generated by `corsica export --to envoy`. Run: envoy -c FILE.yaml --base-id N\n{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

/// The HTTP connection manager filter and the clusters, to put in an
/// existing listener's filter chain and `static_resources.clusters`.
pub fn fragment(plan: &Plan) -> String {
    let doc = json!({"http_connection_manager_filter": hcm(plan), "clusters": clusters(plan)});
    format!(
        "# corsica CORS policy: put http_connection_manager_filter in a listener's\n\
         # filter_chains[].filters and the clusters in static_resources.clusters;\n\
         # set the runtime key re2.max_program_size.error_level to 100000.\n{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

fn hcm(plan: &Plan) -> Json {
    let vhosts: Vec<Json> = plan
        .servers
        .iter()
        .enumerate()
        .map(|(s, server)| {
            let routes: Vec<Json> = server
                .locations
                .iter()
                .flat_map(|loc| {
                    entries(
                        &loc.prefix,
                        loc.route,
                        &plan.routes[loc.route],
                        plan.response_timeout.as_millis(),
                    )
                })
                .collect();
            json!({
                "name": format!("server{s}"),
                "domains": [server.host.clone().unwrap_or_else(|| "*".into())],
                "routes": routes,
            })
        })
        .collect();
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "corsica",
            // Close at once after a `Connection: close` response, as nginx
            // does, rather than waiting a second for the client to go.
            "delayed_close_timeout": "0s",
            "common_http_protocol_options": {"idle_timeout": format!("{}s", plan.idle_timeout.as_secs_f64())},
            "request_headers_timeout": format!("{}s", plan.header_timeout.as_secs_f64()),
            "route_config": {"ignore_port_in_host_matching": true, "virtual_hosts": vhosts},
            // Envoy answers 503 when it cannot connect; the gateway 502.
            // Mappers apply to Envoy's own replies only.
            "local_reply_config": {"mappers": [{
                "filter": {"status_code_filter": {"comparison": {"op": "EQ", "value": {"default_value": 503, "runtime_key": "corsica.unused"}}}},
                "status_code": 502,
            }]},
            "http_filters": [{
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }],
        },
    })
}

fn clusters(plan: &Plan) -> Vec<Json> {
    plan.routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (host, port) = r.upstream.rsplit_once(':').unwrap_or((&r.upstream, "80"));
            // An IPv6 literal comes bracketed from the URL; Envoy wants it bare.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let mut cluster = json!({
                "name": format!("corsica_r{i}"),
                "type": "STRICT_DNS",
                // A name such as localhost may resolve to ::1 first while
                // the upstream listens on IPv4 only.
                "dns_lookup_family": "V4_PREFERRED",
                "connect_timeout": format!("{}s", plan.connect_timeout.as_secs_f64()),
                "load_assignment": {
                    "cluster_name": format!("corsica_r{i}"),
                    "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                        "address": host, "port_value": port.parse::<u16>().unwrap_or(80),
                    }}}}]}],
                },
            });
            if let Some(tls) = &r.tls {
                cluster["transport_socket"] = upstream_tls(tls);
            }
            if r.http2 {
                // h2c: HTTP/2 with prior knowledge on a plain connection.
                cluster["typed_extension_protocol_options"] = json!({
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        "explicit_http_config": {"http2_protocol_options": {}},
                    },
                });
            }
            cluster
        })
        .collect()
}

/// Envoy verifies nothing without a `validation_context`: the CA file, and
/// the URL's host as a DNS or IP address SAN; SNI for a name.
fn upstream_tls(tls: &UpstreamTls) -> Json {
    let ca = tls.ca_file.as_deref().unwrap_or(SYSTEM_CA_BUNDLE);
    let san_type = if tls.ip { "IP_ADDRESS" } else { "DNS" };
    let mut context = json!({
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {
            "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
            "validation_context": {
                "trusted_ca": {"filename": ca},
                "match_typed_subject_alt_names": [{"san_type": san_type, "matcher": {"exact": tls.server_name}}],
            },
        },
    });
    if !tls.ip {
        context["sni"] = json!(tls.server_name);
    }
    json!({"name": "envoy.transport_sockets.tls", "typed_config": context})
}
