//! What a command asks for, decided without any I/O: a reply, a view, a
//! setting to write, a helper call to run or to confirm first, or the feature
//! that serves it. This is the one router from a command to what serves it;
//! `execute.rs` carries the [`Plan`] out; tests here cover every command.

use crate::config::{Config, Lang};
use crate::metric::Metric;
use crate::notice::quiet::QuietHours;
use crate::validate::{self, HhMm};

use super::args::{alert_code, threshold};
use super::callback::Callback;
use super::command::*;
use super::i18n::{self, Texts};
use super::text::{esc, fill};

/// Parses chat text: a main-menu button label (in either language),
/// `/name[@bot] args`, or a plain word such as "status" or "halo".
pub fn parse_message(text: &str) -> Parsed<'_> {
    match i18n::menu_command(text.trim()).or_else(|| super::words::plain(text)) {
        Some(cmd) => Parsed::Command(cmd, ""),
        None => parse(text),
    }
}

/// A privileged action, run as `sudo -n /usr/libexec/potion-runner/potion-helper …`
/// (`paths::HELPER_PATH`, the path the sudoers rule names; `docs/contract.md` §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperAction {
    Svc {
        verb: SvcVerb,
        unit: String,
    },
    BackupStart,
    VerifyStart,
    TimerSet(HhMm),
    /// `/restore`: a validated snapshot id and path (`bot/restore.rs`).
    Restore {
        id: String,
        path: String,
    },
    /// `power off`, asked by the staged power response (`bot/power.rs`).
    PowerOff,
}

impl HelperAction {
    /// The helper's arguments (after `sudo -n` and `paths::HELPER_PATH`).
    pub fn helper_args(&self) -> Vec<String> {
        match self {
            HelperAction::Svc { verb, unit } => {
                vec!["svc".into(), verb.word().into(), unit.clone()]
            }
            HelperAction::BackupStart => vec!["backup".into(), "start".into()],
            HelperAction::VerifyStart => vec!["verify".into(), "start".into()],
            HelperAction::TimerSet(t) => {
                vec!["timer".into(), "set".into(), "backup".into(), t.to_string()]
            }
            HelperAction::Restore { id, path } => vec!["restore".into(), id.clone(), path.clone()],
            HelperAction::PowerOff => vec!["power".into(), "off".into()],
        }
    }

    /// Short audit name, e.g. `svc restart`.
    pub fn audit_name(&self) -> String {
        if let HelperAction::Restore { .. } = self {
            return "restore".into();
        }
        self.helper_args()[..2].join(" ")
    }

    /// Human description in the reply language (HTML).
    pub fn describe(&self, t: &Texts) -> String {
        match self {
            HelperAction::Svc { verb, unit } => fill(
                t.action_svc,
                &[("verb", t.verb(*verb)), ("unit", &esc(unit))],
            ),
            HelperAction::BackupStart => t.action_backup.to_string(),
            HelperAction::VerifyStart => t.action_verify.to_string(),
            HelperAction::TimerSet(hm) => fill(t.action_timer, &[("time", &hm.to_string())]),
            HelperAction::Restore { id, path } => {
                fill(t.restore.action, &[("id", &esc(id)), ("path", &esc(path))])
            }
            HelperAction::PowerOff => t.senses.action_power_off.to_string(),
        }
    }
}

/// A setting change written to `.env` and applied to the running config.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// A threshold; `key` is the metric's `.env` key, known when it was parsed.
    Threshold {
        key: &'static str,
        metric: Metric,
        value: f64,
    },
    Services(Vec<String>),
    BackupTime(HhMm),
    /// `/quiet`: the quiet-hours window, or none for off.
    Quiet(Option<QuietHours>),
}

impl Setting {
    pub fn env_key(&self) -> &'static str {
        match self {
            Setting::Threshold { key, .. } => key,
            Setting::Services(_) => "SERVICES",
            Setting::BackupTime(_) => "BACKUP_TIME",
            Setting::Quiet(_) => "QUIET_HOURS",
        }
    }

    pub fn env_value(&self) -> String {
        match self {
            // Exactly as typed (shortest round trip), never rounded.
            Setting::Threshold { value, .. } => value.to_string(),
            Setting::Services(list) => list.join(","),
            Setting::BackupTime(t) => t.to_string(),
            Setting::Quiet(q) => q.map_or_else(|| "off".to_string(), |q| q.to_string()),
        }
    }

    /// The reply after a successful save (HTML).
    pub fn done_text(&self, t: &Texts) -> String {
        match self {
            Setting::Threshold { metric, value, .. } => fill(
                t.threshold_set,
                &[
                    ("metric", metric.name()),
                    ("value", &super::text::num(*value)),
                ],
            ),
            Setting::Services(list) => fill(t.services_now, &[("list", &esc(&list.join(", ")))]),
            Setting::BackupTime(hm) => fill(t.backup_time_set, &[("time", &hm.to_string())]),
            Setting::Quiet(Some(q)) => fill(t.notice.quiet_set, &[("window", &q.to_string())]),
            Setting::Quiet(None) => t.notice.quiet_off.to_string(),
        }
    }
}

/// Read-only views rendered from the job files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Status,
    Uptime,
    Alerts,
    SvcList,
    BackupList,
}

/// What to do about one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Reply with this HTML; audit `ok`.
    Reply(String),
    /// Refuse with this HTML; audit `failed: <reason>`.
    Refuse {
        html: String,
        reason: String,
    },
    /// Show the main menu keyboard with this greeting.
    Menu(String),
    /// This HTML with a button per row (label, callback data).
    Pick {
        html: String,
        buttons: Vec<(String, String)>,
    },
    Show(View),
    /// Ask Yes/No before running.
    Confirm(HelperAction),
    Run(HelperAction),
    /// `/backup_now`: run the helper, then follow the progress file.
    BackupNow,
    /// `/backup_verify`: run the helper, then follow the verify to its outcome.
    BackupVerify,
    Save(Setting),
    /// `/svc_add`: a valid unit not yet watched, served by `bot/watchlist.rs`.
    SvcAdd(String),
    /// `/set_backup`: save, then move the timer through the helper.
    SaveAndRun(Setting, HelperAction),
    SetLang(Lang),
    /// Mute `code` for `minutes` (0 lifts the mute).
    Mute {
        code: String,
        minutes: u64,
    },
    AuditTail(usize),
    /// A logs, network or updates command, planned by `bot/ops/plan.rs`
    /// (it needs the local clock) and served by `bot/ops/`.
    Ops {
        cmd: Command,
        args: String,
    },
    /// `/chart`, served by `bot/charts.rs`.
    Chart(String),
    /// `/restore`, served by `bot/restore.rs` (it reads the snapshot index).
    Restore(String),
    /// `/smart` or `/smart_ack`, served by `bot/smart.rs` (it reads `smart-state.json`).
    Smart {
        cmd: Command,
        args: String,
    },
}

fn refuse(html: String, reason: &str) -> Plan {
    Plan::Refuse {
        html,
        reason: reason.to_string(),
    }
}

fn usage(t: &Texts, cmd: Command) -> Plan {
    refuse(
        fill(t.usage, &[("usage", &esc(&t.usage_of(cmd)))]),
        "invalid arguments",
    )
}

fn invalid(t: &Texts, err: &impl i18n::Said) -> Plan {
    refuse(
        fill(t.invalid, &[("err", &err.said(t.errors))]),
        "invalid arguments",
    )
}

/// Decides what a command means for the current config (pure).
pub fn plan(cfg: &Config, lang: Lang, cmd: Command, args: &str) -> Plan {
    let t = i18n::texts(lang);
    // `/restore` checks its path's length itself and says which limit it hit.
    if args.chars().count() > MAX_ARGS && cmd != Command::Restore {
        return refuse(
            fill(t.too_long, &[("max", &MAX_ARGS.to_string())]),
            "arguments too long",
        );
    }
    let words: Vec<&str> = args.split_whitespace().collect();
    use Command::*;
    match cmd {
        Start => Plan::Menu(t.welcome.to_string()),
        Help => Plan::Reply(i18n::help(t)),
        Status => Plan::Show(View::Status),
        Uptime => Plan::Show(View::Uptime),
        Alerts => Plan::Show(View::Alerts),
        SvcList => Plan::Show(View::SvcList),
        BackupList => Plan::Show(View::BackupList),
        BackupNow => Plan::BackupNow,
        BackupVerify => Plan::BackupVerify,
        Svc => plan_svc(cfg, t, &words),
        SvcAdd | SvcRemove => plan_services(cfg, t, cmd, &words),
        SetThreshold => match words.as_slice() {
            [m, v] => match threshold(m, v) {
                Ok((key, metric, value)) => Plan::Save(Setting::Threshold { key, metric, value }),
                Err(e) => invalid(t, &e),
            },
            _ => usage(t, cmd),
        },
        SetBackup => match words.as_slice() {
            [raw] => match validate::hhmm(raw) {
                Ok(hm) => Plan::SaveAndRun(Setting::BackupTime(hm), HelperAction::TimerSet(hm)),
                Err(e) => invalid(t, &e),
            },
            _ => usage(t, cmd),
        },
        AlertDisable => plan_mute(t, &words),
        Quiet if words.is_empty() => usage(t, cmd),
        Quiet => match QuietHours::parse(args) {
            Ok(q) => Plan::Save(Setting::Quiet(q)),
            Err(e) => invalid(t, &e),
        },
        Audit => match words.as_slice() {
            [] => Plan::AuditTail(15),
            [n] => match n.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => Plan::AuditTail(n),
                _ => usage(t, cmd),
            },
            _ => usage(t, cmd),
        },
        Lang => match words.as_slice() {
            [l] => match crate::config::Lang::parse(l) {
                Ok(l) => Plan::SetLang(l),
                Err(_) => usage(t, cmd),
            },
            _ => usage(t, cmd),
        },
        LogRuntime | LogJournal | LogErrors | LogFile | Ip | Ping | Tailscale | Speed
        | AptUpdate | PipSync | GitPull => Plan::Ops {
            cmd,
            args: args.to_string(),
        },
        Chart => Plan::Chart(args.to_string()),
        Restore => Plan::Restore(args.to_string()),
        Smart | SmartAck => Plan::Smart {
            cmd,
            args: args.to_string(),
        },
    }
}

/// `/svc` alone: a restart button for each watched unit (the bot's own
/// aside), each leading to the usual Yes/No question.
fn svc_pick(cfg: &Config, t: &Texts) -> Plan {
    let buttons = cfg
        .services
        .iter()
        .filter(|u| **u != cfg.self_service)
        .filter_map(|u| {
            let data = Callback::AskRestart(u.clone()).data()?;
            Some((format!("🔄 {}", u.trim_end_matches(".service")), data))
        })
        .collect();
    Plan::Pick {
        html: t.svc_pick.to_string(),
        buttons,
    }
}

/// The watch list's own spelling of `unit`, compared without case.
fn watched(cfg: &Config, unit: &str) -> Option<String> {
    cfg.services
        .iter()
        .find(|s| s.eq_ignore_ascii_case(unit))
        .cloned()
}

pub(super) fn plan_svc(cfg: &Config, t: &Texts, words: &[&str]) -> Plan {
    if words.is_empty() && !cfg.services.is_empty() {
        return svc_pick(cfg, t);
    }
    let [verb, unit] = words else {
        return usage(t, Command::Svc);
    };
    let Some(verb) = SvcVerb::parse(verb) else {
        return usage(t, Command::Svc);
    };
    let unit = match validate::service_name(unit) {
        // `Ollama` is the watched `ollama.service`: unit names are matched
        // without regard to case, and the watch list's spelling is used.
        Ok(u) => watched(cfg, &u).unwrap_or(u),
        Err(e) => return invalid(t, &e),
    };
    if verb == SvcVerb::Stop && unit == cfg.self_service {
        return refuse(
            fill(t.svc_self_stop, &[("unit", &esc(&unit))]),
            "own service",
        );
    }
    if !cfg.services.contains(&unit) {
        return refuse(
            fill(t.svc_not_whitelisted, &[("unit", &esc(&unit))]),
            "unit not in SERVICES",
        );
    }
    let action = HelperAction::Svc { verb, unit };
    match verb {
        SvcVerb::Start => Plan::Run(action),
        SvcVerb::Stop | SvcVerb::Restart => Plan::Confirm(action),
    }
}

fn plan_services(cfg: &Config, t: &Texts, cmd: Command, words: &[&str]) -> Plan {
    let [unit] = words else {
        return usage(t, cmd);
    };
    let unit = match validate::service_name(unit) {
        Ok(u) => u,
        Err(e) => return invalid(t, &e),
    };
    let mut list = cfg.services.clone();
    match (cmd, watched(cfg, &unit)) {
        (Command::SvcAdd, Some(u)) => Plan::Reply(fill(t.svc_already, &[("unit", &esc(&u))])),
        // Checked with systemd and the helper's rules first (`watchlist.rs`).
        (Command::SvcAdd, None) => Plan::SvcAdd(unit),
        (_, Some(u)) => {
            list.retain(|w| *w != u);
            Plan::Save(Setting::Services(list))
        }
        (_, None) => refuse(
            fill(t.svc_not_listed, &[("unit", &esc(&unit))]),
            "unit not in SERVICES",
        ),
    }
}

fn plan_mute(t: &Texts, words: &[&str]) -> Plan {
    let [code, minutes] = words else {
        return usage(t, Command::AlertDisable);
    };
    let code = match alert_code(code) {
        Ok(c) => c,
        Err(e) => return invalid(t, &e),
    };
    match minutes.parse::<u64>() {
        Ok(m) if m <= MAX_MUTE_MIN => Plan::Mute { code, minutes: m },
        _ => invalid(
            t,
            &super::args::ArgError::NotMinutes {
                value: minutes.to_string(),
                max: MAX_MUTE_MIN,
            },
        ),
    }
}

/// Plans a press that is a plain command (pure); `None` for the presses a
/// feature serves itself (answers, pings, charts).
pub fn plan_callback(cfg: &Config, lang: Lang, cb: &Callback) -> Option<Plan> {
    match cb {
        Callback::Mute { code, minutes } => Some(Plan::Mute {
            code: code.clone(),
            minutes: *minutes,
        }),
        Callback::Status => Some(Plan::Show(View::Status)),
        Callback::AskRestart(unit) => Some(plan_svc(
            cfg,
            i18n::texts(lang),
            &["restart", unit.as_str()],
        )),
        Callback::Logs(unit) => Some(Plan::Ops {
            cmd: Command::LogJournal,
            args: unit.clone(),
        }),
        Callback::RetryBackup => Some(Plan::BackupNow),
        Callback::ShowChart(metric) => Some(Plan::Chart(metric.name().to_string())),
        Callback::Confirm { .. } | Callback::Ping(_) | Callback::Chart { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::callback::*;

    fn cfg() -> Config {
        let mut c = Config::defaults();
        c.services = vec!["ollama.service".into(), "web.service".into()];
        c
    }

    fn p(text: &str) -> Plan {
        match parse(text) {
            Parsed::Command(c, a) => plan(&cfg(), Lang::En, c, a),
            other => panic!("{text}: {other:?}"),
        }
    }

    fn refused(plan: &Plan) -> &str {
        match plan {
            Plan::Refuse { html, .. } => html,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn parses_commands_buttons_and_text() {
        assert_eq!(
            parse_message("/status"),
            Parsed::Command(Command::Status, "")
        );
        assert_eq!(
            parse_message("/Status@potion_bot"),
            Parsed::Command(Command::Status, "")
        );
        assert_eq!(
            parse_message("/svc  restart   ollama "),
            Parsed::Command(Command::Svc, "restart   ollama")
        );
        assert_eq!(
            parse_message("📊 Status"),
            Parsed::Command(Command::Status, "")
        );
        assert_eq!(
            parse_message("🚨 Peringatan"),
            Parsed::Command(Command::Alerts, "")
        );
        assert_eq!(parse_message("/nope x"), Parsed::Unknown("nope"));
        assert_eq!(parse_message("hello there"), Parsed::Text);
        assert_eq!(parse_message("Halo"), Parsed::Command(Command::Start, ""));
        assert_eq!(
            parse_message("status"),
            Parsed::Command(Command::Status, "")
        );
        for (name, c) in COMMANDS {
            assert_eq!(parse_message(&format!("/{name}")), Parsed::Command(*c, ""));
        }
    }

    #[test]
    fn every_command_has_a_plan() {
        for (name, c) in COMMANDS {
            let plan = plan(&cfg(), Lang::Id, *c, "");
            match c {
                Command::Start => assert!(matches!(plan, Plan::Menu(_))),
                Command::Svc => assert!(matches!(plan, Plan::Pick { .. }), "{plan:?}"),
                Command::Help => assert!(matches!(&plan, Plan::Reply(h) if h.contains("/svc_add"))),
                Command::Status
                | Command::Uptime
                | Command::Alerts
                | Command::SvcList
                | Command::BackupList => {
                    assert!(matches!(plan, Plan::Show(_)), "/{name}")
                }
                Command::BackupNow => assert_eq!(plan, Plan::BackupNow),
                Command::BackupVerify => assert_eq!(plan, Plan::BackupVerify),
                Command::Audit => assert_eq!(plan, Plan::AuditTail(15)),
                c if c.is_ops() => assert_eq!(
                    plan,
                    Plan::Ops {
                        cmd: *c,
                        args: String::new()
                    },
                    "/{name}"
                ),
                Command::Chart => assert_eq!(plan, Plan::Chart(String::new())),
                Command::Restore => assert_eq!(plan, Plan::Restore(String::new())),
                Command::Smart | Command::SmartAck => assert_eq!(
                    plan,
                    Plan::Smart {
                        cmd: *c,
                        args: String::new()
                    }
                ),
                // Everything else needs arguments and shows its usage without them.
                _ => assert!(refused(&plan).contains("Cara pakai"), "/{name}: {plan:?}"),
            }
        }
    }

    #[test]
    fn unit_names_match_the_watch_list_in_any_case() {
        let Plan::Confirm(HelperAction::Svc { unit, .. }) = p("/SVC RESTART Ollama") else {
            panic!("{:?}", p("/SVC RESTART Ollama"));
        };
        assert_eq!(unit, "ollama.service");
    }

    #[test]
    fn svc_alone_offers_a_restart_button_per_watched_unit() {
        let Plan::Pick { buttons, .. } = p("/svc") else {
            panic!("{:?}", p("/svc"));
        };
        let data: Vec<&str> = buttons.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(data, ["r:ollama.service", "r:web.service"]);
        let mut none = cfg();
        none.services.clear();
        assert!(matches!(
            plan(&none, Lang::En, Command::Svc, ""),
            Plan::Refuse { .. }
        ));
    }

    #[test]
    fn svc_is_whitelisted_and_confirmed() {
        assert_eq!(
            p("/svc start ollama"),
            Plan::Run(HelperAction::Svc {
                verb: SvcVerb::Start,
                unit: "ollama.service".into()
            })
        );
        assert_eq!(
            p("/svc restart web.service"),
            Plan::Confirm(HelperAction::Svc {
                verb: SvcVerb::Restart,
                unit: "web.service".into()
            })
        );
        assert!(matches!(p("/svc stop ollama"), Plan::Confirm(_)));
        assert!(refused(&p("/svc stop sshd")).contains("isn't on the watch list"));
        assert!(refused(&p("/svc restart foo;id")).contains("can't take that"));
        assert!(refused(&p("/svc kill ollama")).contains("How to use it"));
        assert!(refused(&p("/svc stop potion-runner")).contains("own service"));
        assert!(refused(&p("/svc restart potion-runner")).contains("isn't on the watch list"));
    }

    #[test]
    fn settings_are_validated() {
        assert_eq!(
            p("/set_threshold cpu 85"),
            Plan::Save(Setting::Threshold {
                key: "THRESHOLD_CPU",
                metric: Metric::Cpu,
                value: 85.0
            })
        );
        for bad in ["cpu NaN", "cpu -3", "cpu 101", "gpu 50", "cpu", "cpu inf"] {
            assert!(
                refused(&p(&format!("/set_threshold {bad}"))).len() > 5,
                "{bad}"
            );
        }
        let hm = HhMm {
            hour: 2,
            minute: 30,
        };
        for ok in ["02:30", "02.30", "02,30", "2:30"] {
            assert_eq!(
                p(&format!("/set_backup {ok}")),
                Plan::SaveAndRun(Setting::BackupTime(hm), HelperAction::TimerSet(hm)),
                "{ok}"
            );
        }
        assert!(refused(&p("/set_backup 25:99")).contains("25:99"));
        assert_eq!(p("/svc_add nginx"), Plan::SvcAdd("nginx.service".into()));
        assert!(matches!(p("/svc_add ollama"), Plan::Reply(_)));
        assert!(matches!(p("/svc_add OLLAMA"), Plan::Reply(_)));
        assert_eq!(
            p("/svc_remove Web"),
            Plan::Save(Setting::Services(vec!["ollama.service".into()]))
        );
        assert_eq!(
            p("/svc_remove web"),
            Plan::Save(Setting::Services(vec!["ollama.service".into()]))
        );
        assert!(refused(&p("/svc_remove nginx")).contains("isn't on the watch list"));
        assert!(refused(&p("/svc_add a/b")).contains("can't take that"));
    }

    #[test]
    fn long_arguments_are_refused_first() {
        let long = "x".repeat(5000);
        for c in [
            "svc restart",
            "set_threshold cpu",
            "svc_add",
            "set_backup",
            "ping",
            "chart",
        ] {
            let plan = p(&format!("/{c} {long}"));
            assert!(refused(&plan).contains("Too long"), "{c}");
        }
    }

    #[test]
    fn mutes_lang_and_audit() {
        assert_eq!(
            p("/alert_disable cpu_high 60"),
            Plan::Mute {
                code: "CPU_HIGH".into(),
                minutes: 60
            }
        );
        assert_eq!(
            p("/alert_disable SERVICE_DOWN:ollama 5"),
            Plan::Mute {
                code: "SERVICE_DOWN:ollama.service".into(),
                minutes: 5
            }
        );
        assert!(refused(&p("/alert_disable NOPE 5")).contains("alert code <code>NOPE</code>"));
        assert!(refused(&p("/alert_disable CPU_HIGH 99999")).contains("minutes"));
        assert_eq!(p("/lang en"), Plan::SetLang(Lang::En));
        assert!(matches!(p("/lang fr"), Plan::Refuse { .. }));
        assert_eq!(p("/audit 5"), Plan::AuditTail(5));
        assert!(matches!(p("/audit 0"), Plan::Refuse { .. }));
    }

    #[test]
    fn presses_that_are_commands_are_planned() {
        let c = cfg();
        assert_eq!(
            plan_callback(&c, Lang::En, &Callback::Status),
            Some(Plan::Show(View::Status))
        );
        assert!(matches!(
            plan_callback(&c, Lang::En, &Callback::AskRestart("ollama.service".into())),
            Some(Plan::Confirm(_))
        ));
        assert!(matches!(
            plan_callback(&c, Lang::En, &Callback::AskRestart("other.service".into())),
            Some(Plan::Refuse { .. })
        ));
        assert_eq!(
            plan_callback(&c, Lang::En, &Callback::Confirm { id: 1, yes: true }),
            None
        );
        assert_eq!(
            plan_callback(&c, Lang::En, &Callback::RetryBackup),
            Some(Plan::BackupNow)
        );
        assert_eq!(
            plan_callback(&c, Lang::En, &Callback::ShowChart(Metric::Temp)),
            Some(Plan::Chart("temp".into()))
        );
    }

    #[test]
    fn settings_describe_their_env_line() {
        let s = Setting::BackupTime(HhMm { hour: 3, minute: 0 });
        assert_eq!(
            (s.env_key(), s.env_value().as_str()),
            ("BACKUP_TIME", "03:00")
        );
        for (metric, key, value, line) in [
            (Metric::Cpu, "THRESHOLD_CPU", 85.5, "85.5"),
            (Metric::Ram, "THRESHOLD_RAM", 0.01, "0.01"),
            (Metric::Temp, "THRESHOLD_TEMP", 70.0, "70"),
        ] {
            let s = Setting::Threshold { key, metric, value };
            assert_eq!(s.env_value(), line);
        }
    }

    #[test]
    fn quiet_sets_a_window_or_off_and_refuses_the_rest() {
        let q = QuietHours::parse("22:00-06:00").unwrap();
        assert_eq!(p("/quiet 22.00 - 06.00"), Plan::Save(Setting::Quiet(q)));
        assert_eq!(p("/quiet OFF"), Plan::Save(Setting::Quiet(None)));
        assert_eq!(Setting::Quiet(None).env_value(), "off");
        assert_eq!(Setting::Quiet(q).env_value(), "22:00-06:00");
        assert_eq!(Setting::Quiet(q).env_key(), "QUIET_HOURS");
        assert!(refused(&p("/quiet")).contains("/quiet"));
        assert!(refused(&p("/quiet 22:00")).contains("HH:MM-HH:MM"));
        assert!(refused(&p("/quiet 07:00-07:00")).contains("starts when it ends"));
    }
}
