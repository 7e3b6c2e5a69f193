//! svccfg validate's checks, one small manifest each: `check(body, expected)` wraps `body` in a
//! bundle and compares the diagnostics (severity and message, without positions) to
//! `expected`. Positions are covered by the snapshots in `manifests.rs`.

#![allow(clippy::unwrap_used)]

use smf_core::manifest::{self, Exec, Timeout};

fn diagnostics(kind: &str, body: &str) -> Vec<String> {
    let xml = format!("<service_bundle type='{kind}' name='t'>\n{body}\n</service_bundle>");
    manifest::parse("t.xml", xml.as_bytes())
        .diagnostics
        .iter()
        .map(|diagnostic| format!("{}: {}", diagnostic.severity, diagnostic.message))
        .collect()
}

/// Every expected fragment must appear in its own diagnostic (in any order), and nothing else
/// may be reported.
fn check(body: &str, expected: &[&str]) {
    check_kind("manifest", body, expected);
}

fn check_kind(kind: &str, body: &str, expected: &[&str]) {
    let found = diagnostics(kind, body);
    assert_eq!(
        found.len(),
        expected.len(),
        "expected {expected:#?}\nfound {found:#?}"
    );
    let mut unmatched = found.clone();
    for expected in expected {
        let position = unmatched.iter().position(|found| found.contains(expected));
        assert!(
            position.is_some(),
            "expected {expected:?} among {unmatched:#?}"
        );
        unmatched.remove(position.unwrap_or_default());
    }
}

const START: &str =
    "<exec_method type='method' name='start' exec='/bin/true' timeout_seconds='60'/>";
const STOP: &str = "<exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>";

fn service(inner: &str) -> String {
    format!("<service name='site/x' type='service' version='1'>\n{inner}\n</service>")
}

#[test]
fn a_complete_service_is_clean() {
    check(
        &service(&format!(
            "<create_default_instance enabled='true'/>{START}{STOP}"
        )),
        &[],
    );
}

#[test]
fn an_instance_without_start_is_an_error_and_without_stop_a_warning() {
    check(
        &service("<create_default_instance enabled='true'/>"),
        &[
            "error: svc:/site/x:default has no start method",
            "warning: svc:/site/x:default has no stop method",
        ],
    );
    check(
        &service(&format!("<create_default_instance enabled='true'/>{START}")),
        &["warning: svc:/site/x:default has no stop method"],
    );
}

#[test]
fn start_may_come_from_the_instance() {
    check(
        &service(&format!(
            "{STOP}<instance name='a' enabled='true'>{START}</instance>"
        )),
        &[],
    );
}

#[test]
fn transient_services_need_no_stop_method() {
    check(
        &service(&format!(
            "<create_default_instance enabled='true'/>{START}
             <property_group name='startd' type='framework'>
               <propval name='duration' type='astring' value='transient'/>
             </property_group>"
        )),
        &[],
    );
}

#[test]
fn milestones_delegated_instances_profiles_and_empty_services_need_no_methods() {
    check(
        "<service name='milestone/x' type='milestone' version='1'>
           <create_default_instance enabled='true'/>
         </service>",
        &[],
    );
    check(
        &service(
            "<create_default_instance enabled='true'/>
             <restarter><service_fmri value='svc:/network/inetd:default'/></restarter>",
        ),
        &[],
    );
    check(&service(""), &[]);
    check_kind(
        "profile",
        "<service name='site/x' version='1' type='service'><instance name='default' enabled='true'/></service>",
        &[],
    );
}

#[test]
fn profiles_may_leave_out_types_and_enabled() {
    check_kind(
        "profile",
        "<service name='system/x'>
           <instance name='default'>
             <property_group name='config'><propval name='a' value='1'/></property_group>
           </instance>
         </service>",
        &[],
    );
}

#[test]
fn enumerated_attributes_are_checked() {
    check(
        &service(&format!(
            "<create_default_instance enabled='yes'/>
             <dependency name='d' grouping='all' restart_on='error' type='service'>
               <service_fmri value='svc:/a'/>
             </dependency>
             <dependency name='e' grouping='require_all' restart_on='never' type='socket'>
               <service_fmri value='svc:/b'/>
             </dependency>{START}{STOP}"
        )),
        &[
            "error: invalid value \"yes\" for attribute 'enabled': expected true or false",
            "error: invalid value \"all\" for attribute 'grouping'",
            "error: invalid value \"never\" for attribute 'restart_on': expected error, restart, refresh or none",
            "error: invalid value \"socket\" for attribute 'type': expected service or path",
        ],
    );
}

#[test]
fn dependencies_must_name_valid_fmris_of_their_type() {
    check(
        &service(&format!(
            "<create_default_instance enabled='true'/>
             <dependency name='d' grouping='require_all' restart_on='error' type='service'>
               <service_fmri value='svc:/ok/service'/>
               <service_fmri value='svc:/bad service'/>
               <service_fmri value='file://localhost/etc/hosts'/>
             </dependency>
             <dependency name='p' grouping='require_all' restart_on='none' type='path'>
               <service_fmri value='file:///etc/passwd'/>
               <service_fmri value='svc:/system/x'/>
             </dependency>{START}{STOP}"
        )),
        &[
            "error: invalid FMRI in dependency 'd'",
            "error: dependency 'd' has type service but \"file://localhost/etc/hosts\" is a file",
            "error: dependency 'p' has type path but \"svc:/system/x\" is a service",
        ],
    );
}

#[test]
fn a_dependency_on_oneself_is_an_error() {
    check(
        &service(&format!(
            "<dependency name='me' grouping='require_all' restart_on='none' type='service'>
               <service_fmri value='svc:/site/x'/>
             </dependency>{START}{STOP}"
        )),
        &["error: dependency 'me' names \"svc:/site/x\", which is its own service"],
    );
    check(
        &service(&format!(
            "{START}{STOP}
             <instance name='a' enabled='true'>
               <dependency name='me' grouping='optional_all' restart_on='none' type='service'>
                 <service_fmri value='svc:/site/x:a'/>
               </dependency>
             </instance>
             <instance name='b' enabled='true'>
               <dependency name='sibling' grouping='require_all' restart_on='none' type='service'>
                 <service_fmri value='svc:/site/x:a'/>
               </dependency>
             </instance>"
        )),
        &["error: dependency 'me' names \"svc:/site/x:a\", which is svc:/site/x:a"],
    );
}

#[test]
fn duplicate_names_are_errors() {
    check(
        &format!(
            "{}\n{}",
            service(&format!(
                "{START}{STOP}
                 <property_group name='start' type='application'/>
                 <instance name='a' enabled='true'/>
                 <instance name='a' enabled='false'/>"
            )),
            service("")
        ),
        &[
            "error: property group 'start' has the same name as the method at line",
            "error: instance 'a' is declared twice (first at line",
            "error: service 'site/x' is declared twice in this bundle (first at line",
        ],
    );
}

#[test]
fn names_follow_smf_rules() {
    check(
        "<service name='site/bad name' type='service' version='1'>
           <instance name='1st' enabled='false'/>
         </service>",
        &[
            "error: invalid service name",
            "error: invalid instance name",
            "has no start method",
            "has no stop method",
        ],
    );
}

#[test]
fn method_tokens_and_timeouts() {
    let xml = service(
        "<create_default_instance enabled='true'/>
         <exec_method type='method' name='start' exec='/bin/x' timeout_seconds='-1'/>
         <exec_method type='method' name='stop' exec=':kill -HUP' timeout_seconds='18446744073709551615'/>
         <exec_method type='method' name='refresh' exec=':true' timeout_seconds='0'/>
         <exec_method type='method' name='a' exec=':kill_process' timeout_seconds='7'/>
         <exec_method type='method' name='b' exec=':kill -THAW' timeout_seconds='-5'/>
         <exec_method type='method' name='c' exec='/bin/c' timeout_seconds='soon'/>
         <exec_method type='method' name='d' exec='' timeout_seconds='18446744073709551616'/>",
    );
    check(
        &xml,
        &[
            "warning: exec \":kill_process\" looks like a method token but is not one",
            "warning: ':kill -THAW' names a signal Linux does not have",
            "warning: timeout_seconds -5 is negative",
            "error: illegal value \"soon\" for timeout_seconds",
            "error: empty exec",
            "error: illegal value \"18446744073709551616\" for timeout_seconds",
        ],
    );
    let bundle_xml = format!("<service_bundle type='manifest' name='t'>{xml}</service_bundle>");
    let parsed = manifest::parse("t.xml", bundle_xml.as_bytes());
    let methods = &parsed.bundle.unwrap().services[0].settings.exec_methods;
    let summary: Vec<_> = methods
        .iter()
        .map(|method| (method.name.as_str(), &method.exec, method.timeout))
        .collect();
    assert_eq!(
        summary[..5],
        [
            ("start", &Exec::Command("/bin/x".into()), Timeout::Infinite),
            (
                "stop",
                &Exec::Kill {
                    signal: Some("HUP".into())
                },
                Timeout::Infinite
            ),
            ("refresh", &Exec::True, Timeout::Infinite),
            (
                "a",
                &Exec::Command(":kill_process".into()),
                Timeout::Seconds(7)
            ),
            (
                "b",
                &Exec::Kill {
                    signal: Some("THAW".into())
                },
                Timeout::Infinite
            ),
        ]
    );
}

#[test]
fn property_values_are_typed() {
    check(
        &service(
            "<property_group name='config' type='application'>
               <propval name='a' type='count' value='12'/>
               <propval name='b' type='count' value='-1'/>
               <propval name='c' type='integer' value='-1'/>
               <propval name='d' type='boolean' value='yes'/>
               <propval name='e' type='integer' value=''/>
               <propval name='f' type='colour' value='red'/>
               <property name='g' type='count'>
                 <count_list><value_node value='1'/><value_node value='x'/></count_list>
               </property>
               <property name='h' type='astring'>
                 <integer_list><value_node value='1'/></integer_list>
               </property>
               <propval name='a' type='count' value='13'/>
             </property_group>",
        ),
        &[
            "error: illegal value \"-1\" for count",
            "error: illegal boolean value \"yes\"",
            "warning: empty number is read as 0",
            "error: invalid property type \"colour\"",
            "error: illegal value \"x\" for count",
            "error: <integer_list> inside a property of type astring",
            "warning: property 'a' is set twice in this group",
        ],
    );
}

#[test]
fn unknown_elements_and_attributes_are_warnings() {
    check(
        &service(&format!(
            "<create_default_instance enabled='true' colour='blue'/>{START}{STOP}
             <logfile_attributes permissions='600'/>"
        )),
        &[
            "warning: unknown attribute 'colour' on <create_default_instance> is ignored",
            "warning: unknown element <logfile_attributes> in <service> is ignored",
        ],
    );
}

#[test]
fn missing_required_attributes_name_what_was_expected() {
    check(
        "<service type='service' version='1'/>",
        &["error: <service> is missing the required attribute 'name' (expected a service name"],
    );
    check(
        &service(&format!(
            "<create_default_instance enabled='true'/>{STOP}
             <exec_method type='method' name='start' timeout_seconds='5'/>"
        )),
        // The start method is declared, so it is not also reported missing.
        &["error: <exec_method> is missing the required attribute 'exec'"],
    );
}

#[test]
fn elements_out_of_the_dtd_order_are_warnings() {
    check(
        &service(&format!(
            "<create_default_instance enabled='true'/>{START}
             <stability value='Unstable'/>
             <property_group name='config' type='application'/>
             <dependency name='late' grouping='require_all' restart_on='none' type='service'>
               <service_fmri value='svc:/milestone/network'/>
             </dependency>{STOP}"
        )),
        &[
            "warning: <property_group> comes after <stability>, against the DTD's order",
            "warning: <dependency> comes after <stability>",
            "warning: <exec_method> comes after <stability>",
        ],
    );
}
