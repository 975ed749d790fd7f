//! The watch list tells the truth. `/svc_add` asks systemd over the bus
//! (`health::sdbus`, no child process) whether the unit exists, refusing a
//! unit it does not know, and asks the helper's own rules
//! (`helper::Policy` over the root-owned allowlist, the same code and file
//! the helper decides with) whether chat may control it, saving it as
//! watch-only when not. `/svc start|stop|restart` and the 🔄 button are
//! refused the same way before any Yes/No question. The helper still
//! decides for itself when it acts: this only makes its refusal come first.

use std::time::Duration;

use crate::config::Config;
use crate::health::sdbus::{self, UnitState};
use crate::helper::{Policy, ReasonCode, SvcAction};

use super::AuditResult;
use super::callback::Callback;
use super::command::SvcVerb;
use super::i18n::{Texts, WatchTexts};
use super::plan::{HelperAction, Plan, Setting};
use super::req::Req;
use super::settings::save_setting;
use super::text::{esc, fill};

/// How long systemd may take to answer.
const BUS_TIMEOUT: Duration = Duration::from_secs(5);

/// What systemd said about one unit, or why it could not be asked.
pub type BusAnswer = Result<UnitState, String>;

/// Asks systemd about `unit` off the event loop.
pub async fn ask_systemd(unit: &str) -> BusAnswer {
    let units = vec![unit.to_string()];
    let r = tokio::task::spawn_blocking(move || sdbus::list_units(&units, BUS_TIMEOUT)).await;
    match r {
        Ok(Ok(mut states)) => states.pop().ok_or_else(|| "no answer".to_string()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The policy the helper applies on this machine (the root-owned allowlist,
/// or the denylist alone without one).
fn machine_policy(cfg: &Config) -> Policy {
    crate::helper::machine_policy(cfg)
}

fn action(verb: SvcVerb) -> SvcAction {
    match verb {
        SvcVerb::Start => SvcAction::Start,
        SvcVerb::Stop => SvcAction::Stop,
        SvcVerb::Restart => SvcAction::Restart,
    }
}

/// The helper's rules for `unit` and, when systemd named it otherwise (an
/// alias), for its real name too: the first refusal's code.
fn rules(policy: &Policy, verb: SvcAction, unit: &str, bus: &BusAnswer) -> Option<ReasonCode> {
    let real = bus.as_ref().ok().map(|s| s.id.as_str());
    std::iter::once(unit)
        .chain(real.filter(|r| !r.is_empty() && *r != unit))
        .find_map(|name| policy.check(verb, name).err().map(|r| r.code))
}

/// systemd's load state when it says the unit is not there.
fn missing(bus: &BusAnswer) -> Option<String> {
    match bus {
        Ok(s) if s.load != "loaded" => Some(if s.load.is_empty() {
            "not-found".into()
        } else {
            s.load.clone()
        }),
        _ => None,
    }
}

/// What `/svc_add` does with a unit not yet watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddDecision {
    /// systemd does not know it (its load state): refused, nothing saved.
    Missing(String),
    /// Saved. `unchecked`: systemd could not be asked. `watch_only`: the
    /// helper's rules refuse to control it, and why.
    Save {
        unchecked: bool,
        watch_only: Option<ReasonCode>,
    },
}

/// Decides `/svc_add` from systemd's answer and the helper's rules (pure).
pub fn decide_add(policy: &Policy, unit: &str, bus: &BusAnswer) -> AddDecision {
    if let Some(state) = missing(bus) {
        return AddDecision::Missing(state);
    }
    AddDecision::Save {
        unchecked: bus.is_err(),
        watch_only: rules(policy, SvcAction::Restart, unit, bus),
    }
}

/// Why `/svc` is refused before its question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcRefusal {
    /// The helper's rules say no.
    Rules(ReasonCode),
    /// systemd does not know the unit (its load state).
    Missing(String),
}

/// Decides a `/svc` action by the helper's rules and systemd's answer
/// (pure). When systemd cannot be asked, the helper decides when it acts.
pub fn decide_svc(
    policy: &Policy,
    verb: SvcVerb,
    unit: &str,
    bus: &BusAnswer,
) -> Result<(), SvcRefusal> {
    if let Some(code) = rules(policy, action(verb), unit, bus) {
        return Err(SvcRefusal::Rules(code));
    }
    missing(bus).map_or(Ok(()), |s| Err(SvcRefusal::Missing(s)))
}

/// Whether the helper's rules let chat restart `unit` (for the 🔄 button
/// under a `SERVICE_DOWN` alert); by name only, no systemd call.
pub fn may_restart(cfg: &Config, unit: &str) -> bool {
    machine_policy(cfg).check(SvcAction::Restart, unit).is_ok()
}

/// A refusal of the helper's rules, said in the reply language.
pub fn why(w: &WatchTexts, code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::ProtectedUnit | ReasonCode::TtyUnit => w.why_protected,
        ReasonCode::NotAllowed => w.why_not_allowed,
        ReasonCode::AllowlistBroken => w.why_allowlist_broken,
        _ => w.why_other,
    }
}

/// Refuses a planned `/svc` start, stop or restart that the helper would
/// refuse, before any question is asked, and leaves the 🔄 buttons of
/// watch-only units out of `/svc`'s list; every other plan passes as it is.
pub async fn vet(cfg: &Config, t: &Texts, plan: Plan) -> Plan {
    if let Plan::Pick { html, buttons } = plan {
        let buttons = buttons
            .into_iter()
            .filter(|(_, data)| match Callback::parse(data) {
                Some(Callback::AskRestart(u)) => may_restart(cfg, &u),
                _ => true,
            })
            .collect();
        return Plan::Pick { html, buttons };
    }
    let (Plan::Confirm(HelperAction::Svc { verb, unit })
    | Plan::Run(HelperAction::Svc { verb, unit })) = &plan
    else {
        return plan;
    };
    let policy = machine_policy(cfg);
    // The rules by name first: a protected unit needs no systemd call.
    let bus = match rules(&policy, action(*verb), unit, &Err(String::new())) {
        Some(_) => Err(String::new()),
        None => ask_systemd(unit).await,
    };
    let w = t.watch;
    let u = esc(unit);
    match decide_svc(&policy, *verb, unit, &bus) {
        Ok(()) => plan,
        Err(SvcRefusal::Rules(code)) => Plan::Refuse {
            html: fill(
                w.svc_refused,
                &[("unit", &u), ("verb", t.verb(*verb)), ("why", why(w, code))],
            ),
            reason: code.as_str().to_string(),
        },
        Err(SvcRefusal::Missing(state)) => Plan::Refuse {
            html: fill(w.svc_missing, &[("unit", &u), ("state", &esc(&state))]),
            reason: format!("no-such-unit: {state}"),
        },
    }
}

/// `/svc_add UNIT` for a valid unit not yet watched: asks systemd and the
/// helper's rules, then saves (or refuses) and says which.
pub async fn add(req: &Req, unit: &str) -> AuditResult {
    let cfg = req.shared.config();
    let t = req.texts();
    let w = t.watch;
    let u = esc(unit);
    let bus = ask_systemd(unit).await;
    if let Err(e) = &bus {
        log::info!("/svc_add {unit}: systemd could not be asked: {e}");
    }
    let (html, result) = match decide_add(&machine_policy(&cfg), unit, &bus) {
        AddDecision::Missing(state) => (
            fill(w.add_missing, &[("unit", &u), ("state", &esc(&state))]),
            AuditResult::Failed(format!("no-such-unit: {state}")),
        ),
        AddDecision::Save {
            unchecked,
            watch_only,
        } => {
            let mut list = cfg.services.clone();
            list.push(unit.to_string());
            let (mut html, result) = save_setting(&req.shared, &Setting::Services(list));
            if result == AuditResult::Ok {
                html += "\n";
                html += &match watch_only {
                    Some(code) => fill(w.add_watch_only, &[("unit", &u), ("why", why(w, code))]),
                    None => fill(w.add_controllable, &[("unit", &u)]),
                };
                if unchecked {
                    html += "\n";
                    html += &fill(w.add_unchecked, &[("unit", &u)]);
                }
            }
            (html, result)
        }
    };
    match req.reply(&html).await {
        Ok(_) => result,
        Err(e) => AuditResult::Failed(format!("reply not delivered: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::allowlist::{Allowlist, Source};

    fn state(id: &str, load: &str) -> BusAnswer {
        Ok(UnitState {
            id: id.into(),
            load: load.into(),
            active: "inactive".into(),
            sub: "dead".into(),
        })
    }

    fn open() -> Policy {
        Policy::new(Source::DenylistOnly, "potion-runner.service")
    }

    #[test]
    fn a_unit_systemd_does_not_know_is_refused() {
        let bus = state("tidakada.service", "not-found");
        assert_eq!(
            decide_add(&open(), "tidakada.service", &bus),
            AddDecision::Missing("not-found".into())
        );
        assert_eq!(
            decide_add(&open(), "x.service", &state("x.service", "masked")),
            AddDecision::Missing("masked".into())
        );
    }

    #[test]
    fn a_known_unit_is_saved_controllable_or_watch_only() {
        let p = open();
        assert_eq!(
            decide_add(&p, "ollama.service", &state("ollama.service", "loaded")),
            AddDecision::Save {
                unchecked: false,
                watch_only: None
            }
        );
        // Protected by name, and through an alias systemd resolves.
        for (unit, id) in [
            ("sshd.service", "ssh.service"),
            ("web.service", "ssh.service"),
        ] {
            assert_eq!(
                decide_add(&p, unit, &state(id, "loaded")),
                AddDecision::Save {
                    unchecked: false,
                    watch_only: Some(ReasonCode::ProtectedUnit)
                },
                "{unit}"
            );
        }
        let allow = Policy::new(
            Source::Allowlist(Allowlist::parse("ollama.service\n").unwrap()),
            "potion-runner.service",
        );
        assert_eq!(
            decide_add(&allow, "nginx.service", &state("nginx.service", "loaded")),
            AddDecision::Save {
                unchecked: false,
                watch_only: Some(ReasonCode::NotAllowed)
            }
        );
        let broken = Policy::new(Source::Broken("mode".into()), "potion-runner.service");
        assert_eq!(
            decide_add(
                &broken,
                "ollama.service",
                &state("ollama.service", "loaded")
            ),
            AddDecision::Save {
                unchecked: false,
                watch_only: Some(ReasonCode::AllowlistBroken)
            }
        );
    }

    #[test]
    fn without_an_answer_it_is_saved_and_said_unchecked() {
        assert_eq!(
            decide_add(&open(), "nginx.service", &Err("no bus".into())),
            AddDecision::Save {
                unchecked: true,
                watch_only: None
            }
        );
    }

    #[test]
    fn svc_refusals_come_from_the_rules_then_systemd() {
        let p = open();
        let up = state("ollama.service", "loaded");
        assert_eq!(
            decide_svc(&p, SvcVerb::Restart, "ollama.service", &up),
            Ok(())
        );
        assert_eq!(
            decide_svc(&p, SvcVerb::Restart, "sshd.service", &Err("no bus".into())),
            Err(SvcRefusal::Rules(ReasonCode::ProtectedUnit))
        );
        assert_eq!(
            decide_svc(
                &p,
                SvcVerb::Start,
                "gone.service",
                &state("gone.service", "not-found")
            ),
            Err(SvcRefusal::Missing("not-found".into()))
        );
        // No answer from systemd: the helper decides when it acts.
        assert_eq!(
            decide_svc(&p, SvcVerb::Stop, "ollama.service", &Err("no bus".into())),
            Ok(())
        );
    }

    #[test]
    fn every_refusal_reads_in_both_languages() {
        for lang in [crate::config::Lang::Id, crate::config::Lang::En] {
            let w = crate::bot::i18n::texts(lang).watch;
            let codes = [
                ReasonCode::ProtectedUnit,
                ReasonCode::NotAllowed,
                ReasonCode::AllowlistBroken,
                ReasonCode::SelfStop,
            ];
            let said: std::collections::HashSet<_> = codes.iter().map(|c| why(w, *c)).collect();
            assert_eq!(said.len(), 4, "each refusal has its own words");
        }
    }
}
