//! Which units the helper may touch: the root-owned allowlist (read and
//! trusted in `allowlist.rs`), the built-in denylist, and what systemd says
//! about the unit.
//!
//! Everything here is pure. Every decision fails closed: an allowlist that
//! is unreadable, untrusted or has a bad line refuses every unit rather than
//! falling back to something looser.

use super::allowlist::Source;
pub use super::denylist::DENYLIST;
use super::denylist::denied;
use crate::paths;
use crate::validate;

/// Why the helper refused, as a stable code printed beside the English
/// reason (`reason: <code>` on stderr), so the bot can say it in the
/// owner's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCode {
    /// An argument failed validation (unit name, time, id, path).
    BadRequest,
    /// The unit is in [`DENYLIST`] (by name or by an alias).
    ProtectedUnit,
    /// `stop` of the bot's own unit.
    SelfStop,
    /// Not in the owner's allowlist.
    NotAllowed,
    /// The allowlist exists but cannot be trusted or read.
    AllowlistBroken,
    /// systemd knows no such unit (or it is masked).
    NoSuchUnit,
    /// The unit puts a program on a terminal (`StandardInput=tty*`).
    TtyUnit,
    /// systemd could not be asked about the unit.
    UnitUnknown,
    /// `BACKUP_DIR` is not root's alone.
    BackupDirUntrusted,
    NoSuchSnapshot,
    /// `--env`/`--system-env` under sudo.
    FlagUnderSudo,
    /// `power off` while `POWER_ACTIONS=1` is not in `system.env`.
    PowerActionsOff,
    /// `power off` while the machine is not running on its battery.
    NotOnBattery,
    /// `power off` while no system battery is discharging at or below
    /// `POWER_OFF_MAX_PERCENT`.
    BatteryNotLow,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BadRequest => "bad-request",
            ReasonCode::ProtectedUnit => "protected-unit",
            ReasonCode::SelfStop => "self-stop",
            ReasonCode::NotAllowed => "not-allowed",
            ReasonCode::AllowlistBroken => "allowlist-broken",
            ReasonCode::NoSuchUnit => "no-such-unit",
            ReasonCode::TtyUnit => "tty-unit",
            ReasonCode::UnitUnknown => "unit-unknown",
            ReasonCode::BackupDirUntrusted => "backup-dir-untrusted",
            ReasonCode::NoSuchSnapshot => "no-such-snapshot",
            ReasonCode::FlagUnderSudo => "flag-under-sudo",
            ReasonCode::PowerActionsOff => "power-actions-off",
            ReasonCode::NotOnBattery => "not-on-battery",
            ReasonCode::BatteryNotLow => "battery-not-low",
        }
    }
}

/// A refusal: nothing was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ReasonCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A validator's complaint about an argument.
impl From<validate::Invalid> for Refusal {
    fn from(invalid: validate::Invalid) -> Refusal {
        Refusal::new(ReasonCode::BadRequest, invalid.to_string())
    }
}

/// The properties [`UnitFacts`] reads, for `systemctl show -p`.
pub const SHOW_PROPERTIES: &str = "Id,Names,LoadState,StandardInput,SuccessAction,FailureAction,StartLimitAction,JobTimeoutAction,OnFailure,OnSuccess";

/// Unit settings that make systemd itself act (reboot, power off, exit)
/// when the unit ends, fails or times out; each must be `none`.
pub const ACTION_PROPERTIES: [&str; 4] = [
    "SuccessAction",
    "FailureAction",
    "StartLimitAction",
    "JobTimeoutAction",
];

/// What systemd says about a unit (`systemctl show -p` [`SHOW_PROPERTIES`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFacts {
    /// The real name (an alias resolves to it).
    pub id: String,
    /// Every name the unit answers to.
    pub names: Vec<String>,
    pub load_state: String,
    pub standard_input: String,
    /// [`ACTION_PROPERTIES`] with their values, as systemd reported them.
    pub actions: Vec<(String, String)>,
    /// Units started when this one fails or succeeds (`OnFailure`, `OnSuccess`).
    pub triggers: Vec<String>,
}

impl UnitFacts {
    /// Parses `systemctl show` output (`Key=value` lines).
    pub fn parse(show: &str) -> UnitFacts {
        let mut u = UnitFacts::default();
        for line in show.lines() {
            match line.split_once('=') {
                Some(("Id", v)) => u.id = v.to_string(),
                Some(("Names", v)) => u.names = v.split_whitespace().map(str::to_string).collect(),
                Some(("LoadState", v)) => u.load_state = v.to_string(),
                Some(("StandardInput", v)) => u.standard_input = v.to_string(),
                Some(("OnFailure" | "OnSuccess", v)) => {
                    u.triggers.extend(v.split_whitespace().map(str::to_string))
                }
                Some((k, v)) if ACTION_PROPERTIES.contains(&k) => {
                    u.actions.push((k.to_string(), v.to_string()))
                }
                _ => {}
            }
        }
        u
    }
}

/// What the caller wants to do with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvcAction {
    Start,
    Stop,
    Restart,
}

impl SvcAction {
    pub fn verb(self) -> &'static str {
        match self {
            SvcAction::Start => "start",
            SvcAction::Stop => "stop",
            SvcAction::Restart => "restart",
        }
    }
}

/// The rules for `svc start|stop|restart`.
#[derive(Debug, Clone)]
pub struct Policy {
    pub source: Source,
    /// Units never stopped from chat: the bot's own unit and `SELF_SERVICE`.
    pub never_stop: Vec<String>,
}

impl Policy {
    /// A policy with the bot's units protected from `stop`.
    pub fn new(source: Source, self_service: &str) -> Policy {
        let mut never_stop = vec![paths::BOT_UNIT.to_string()];
        if self_service != paths::BOT_UNIT {
            never_stop.push(self_service.to_string());
        }
        Policy { source, never_stop }
    }

    /// Validates `raw` and decides by name whether `action` may touch it.
    /// Returns the normalised unit name, or the refusal.
    pub fn check(&self, action: SvcAction, raw: &str) -> Result<String, Refusal> {
        let unit = validate::service_name(raw)?;
        self.check_name(action, &unit)?;
        match &self.source {
            Source::DenylistOnly => Ok(unit),
            Source::Allowlist(list) if list.allows(&unit) => Ok(unit),
            Source::Allowlist(_) => Err(Refusal::new(
                ReasonCode::NotAllowed,
                format!(
                    "{unit} is not in {}; add it there (as root) to control it",
                    paths::ALLOWED_UNITS_FILE
                ),
            )),
            Source::Broken(why) => Err(Refusal::new(
                ReasonCode::AllowlistBroken,
                format!(
                    "{} cannot be used ({why}); no unit may be controlled until it is fixed",
                    paths::ALLOWED_UNITS_FILE
                ),
            )),
        }
    }

    fn check_name(&self, action: SvcAction, unit: &str) -> Result<(), Refusal> {
        if let Some(p) = denied(unit) {
            return Err(Refusal::new(
                ReasonCode::ProtectedUnit,
                format!(
                    "{unit} is protected (matches {p}): it could hand out root or cut you off the machine"
                ),
            ));
        }
        if action == SvcAction::Stop && self.never_stop.iter().any(|n| n == unit) {
            return Err(Refusal::new(
                ReasonCode::SelfStop,
                format!(
                    "{unit} is the bot itself; stopping it from chat would leave you without the bot"
                ),
            ));
        }
        Ok(())
    }

    /// Decides by what systemd says about `unit`: it must exist, every name
    /// it answers to must pass the name checks (an alias of a protected unit
    /// is that unit), systemd must not act on the machine when it ends
    /// (every [`ACTION_PROPERTIES`] is `none`), what it starts on failure or
    /// success must be a service passing the name checks, and it must not
    /// put a program on a terminal.
    pub fn check_unit(
        &self,
        action: SvcAction,
        unit: &str,
        facts: &UnitFacts,
    ) -> Result<(), Refusal> {
        if facts.load_state != "loaded" {
            return Err(Refusal::new(
                ReasonCode::NoSuchUnit,
                format!("there is no unit {unit} (systemd: {})", facts.load_state),
            ));
        }
        for name in std::iter::once(&facts.id).chain(&facts.names) {
            if name != unit {
                self.check_name(action, name)?;
            }
        }
        for key in ACTION_PROPERTIES {
            match facts.actions.iter().find(|(k, _)| k == key) {
                Some((_, v)) if v == "none" => {}
                Some((_, v)) => {
                    return Err(Refusal::new(
                        ReasonCode::ProtectedUnit,
                        format!("{unit} has {key}={v}: systemd would act on the whole machine"),
                    ));
                }
                None => {
                    return Err(Refusal::new(
                        ReasonCode::UnitUnknown,
                        format!("systemd did not say {unit}'s {key}"),
                    ));
                }
            }
        }
        for t in &facts.triggers {
            if !t.ends_with(".service") {
                return Err(Refusal::new(
                    ReasonCode::ProtectedUnit,
                    format!("{unit} starts {t} when it ends; only services may be started so"),
                ));
            }
            self.check_name(SvcAction::Start, t)?;
        }
        if facts.standard_input.starts_with("tty") {
            return Err(Refusal::new(
                ReasonCode::TtyUnit,
                format!(
                    "{unit} runs on a terminal (StandardInput={}); a unit like that can hand out a shell",
                    facts.standard_input
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::allowlist::Allowlist;

    fn allow(text: &str) -> Policy {
        Policy::new(
            Source::Allowlist(Allowlist::parse(text).unwrap()),
            "potion-runner.service",
        )
    }

    #[test]
    fn denylist_mode_allows_all_but_protected_units() {
        let p = Policy::new(Source::DenylistOnly, "potion-runner.service");
        assert_eq!(
            p.check(SvcAction::Restart, "ollama").unwrap(),
            "ollama.service"
        );
        for unit in [
            "ssh",
            "sshd.service",
            "networking.service",
            "NetworkManager.service",
            "systemd-journald.service",
            "systemd-logind",
            "dbus.service",
            "dbus-broker.service",
            "sudo.service",
            "getty@tty1.service",
            "tailscaled.service",
            "ufw",
            "ufw.service",
            "nftables.service",
            "firewalld.service",
            "netfilter-persistent.service",
            "iptables.service",
            "ip6tables.service",
            "apparmor",
            "apparmor.service",
        ] {
            for action in [SvcAction::Start, SvcAction::Stop, SvcAction::Restart] {
                let err = p.check(action, unit).unwrap_err();
                assert_eq!(err.code, ReasonCode::ProtectedUnit, "{unit}: {err}");
            }
        }
    }

    /// Units that hand out root or take the machine down (the classes `denylist.rs`
    /// names and ARCHITECTURE.md, "Helper and ops", lists), and more.
    const ROOT_GRANTING: &[&str] = &[
        "debug-shell.service",
        "emergency.service",
        "rescue.service",
        "kexec.service",
        "reboot.service",
        "poweroff.service",
        "halt.service",
        "ctrl-alt-del.service",
        "getty@tty1.service",
        "serial-getty@ttyS0.service",
        "container-getty@1.service",
        "autovt@tty1.service",
        "modprobe@dummy.service",
        "systemd-logind.service",
        "systemd-journald.service",
        "dbus.service",
        "dbus-broker.service",
        "polkit.service",
        "sudo.service",
        "ssh.service",
        "sshd.service",
        "dropbear.service",
        "wg-quick@wg0.service",
        "openvpn.service",
        "openvpn@client.service",
        "tailscaled.service",
        "NetworkManager.service",
        "NetworkManager-wait-online.service",
        "networking.service",
        "ufw.service",
        "nftables.service",
        "firewalld.service",
        "user@1000.service",
    ];

    #[test]
    fn root_granting_units_are_refused_by_class_even_if_allowed() {
        assert!(ROOT_GRANTING.len() >= 20);
        for p in [
            Policy::new(Source::DenylistOnly, "potion-runner.service"),
            allow("*\n"),
        ] {
            for unit in ROOT_GRANTING {
                for action in [SvcAction::Start, SvcAction::Stop, SvcAction::Restart] {
                    let err = p.check(action, unit).unwrap_err();
                    assert_eq!(err.code, ReasonCode::ProtectedUnit, "{unit}: {err}");
                }
            }
        }
    }

    fn loaded(id: &str, names: &[&str], stdin: &str) -> UnitFacts {
        UnitFacts {
            id: id.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            load_state: "loaded".into(),
            standard_input: stdin.into(),
            actions: ACTION_PROPERTIES
                .iter()
                .map(|k| (k.to_string(), "none".into()))
                .collect(),
            triggers: vec![],
        }
    }

    #[test]
    fn units_that_make_systemd_act_are_refused() {
        let p = Policy::new(Source::DenylistOnly, "potion-runner.service");
        let a = SvcAction::Stop;
        let show = "Id=x.service\nNames=x.service\nLoadState=loaded\nStandardInput=null\n\
            SuccessAction=none\nFailureAction=none\nStartLimitAction=none\nJobTimeoutAction=none\n\
            OnFailure=\nOnSuccess=\n";
        assert_eq!(
            p.check_unit(a, "x.service", &UnitFacts::parse(show)),
            Ok(())
        );
        for key in ACTION_PROPERTIES {
            for v in ["reboot", "poweroff-force", "exit", "soft-reboot"] {
                let f =
                    UnitFacts::parse(&show.replace(&format!("{key}=none"), &format!("{key}={v}")));
                let err = p.check_unit(a, "x.service", &f).unwrap_err();
                assert_eq!(err.code, ReasonCode::ProtectedUnit, "{key}={v}");
            }
            // A property systemd did not report fails closed.
            let f = UnitFacts::parse(&show.replace(&format!("{key}=none\n"), ""));
            assert_eq!(
                p.check_unit(a, "x.service", &f).unwrap_err().code,
                ReasonCode::UnitUnknown
            );
        }
        for on in ["OnFailure", "OnSuccess"] {
            for t in [
                "reboot.target",
                "emergency.service",
                "sshd.service",
                "x.socket",
            ] {
                let f = UnitFacts::parse(
                    &show.replace(&format!("{on}=\n"), &format!("{on}=ok.service {t}\n")),
                );
                let err = p.check_unit(a, "x.service", &f).unwrap_err();
                assert_eq!(err.code, ReasonCode::ProtectedUnit, "{on}={t}");
            }
            let f = UnitFacts::parse(
                &show.replace(&format!("{on}=\n"), &format!("{on}=notify.service\n")),
            );
            assert_eq!(p.check_unit(a, "x.service", &f), Ok(()));
        }
    }

    #[test]
    fn networking_remote_access_login_and_audit_units_are_protected() {
        let p = Policy::new(Source::DenylistOnly, "potion-runner.service");
        for unit in [
            "iwd.service",
            "ModemManager.service",
            "hostapd.service",
            "dnsmasq.service",
            "cloudflared.service",
            "vncserver@:1.service",
            "x11vnc.service",
            "autossh-tunnel.service",
            "gdm3.service",
            "display-manager.service",
            "fail2ban.service",
            "auditd.service",
            "rsyslog.service",
            "blk-availability.service",
            "initrd-switch-root.service",
            "capsule@x.service",
            "packagekit-offline-update.service",
            "system-update-cleanup.service",
        ] {
            for action in [SvcAction::Start, SvcAction::Stop, SvcAction::Restart] {
                let err = p.check(action, unit).unwrap_err();
                assert_eq!(err.code, ReasonCode::ProtectedUnit, "{unit}: {err}");
            }
        }
    }

    #[test]
    fn units_are_judged_by_what_systemd_says_they_are() {
        let p = Policy::new(Source::DenylistOnly, "potion-runner.service");
        let a = SvcAction::Start;
        let ok = loaded("ollama.service", &["ollama.service"], "null");
        assert_eq!(p.check_unit(a, "ollama.service", &ok), Ok(()));
        let missing = UnitFacts::parse(
            "Id=nope.service\nNames=nope.service\nLoadState=not-found\nStandardInput=null\n",
        );
        let err = p.check_unit(a, "nope.service", &missing).unwrap_err();
        assert_eq!(err.code, ReasonCode::NoSuchUnit);
        // An alias of a protected unit is that unit.
        let alias = loaded(
            "debug-shell.service",
            &["debug-shell.service", "harmless.service"],
            "tty-force",
        );
        let err = p.check_unit(a, "harmless.service", &alias).unwrap_err();
        assert_eq!(err.code, ReasonCode::ProtectedUnit);
        // An alias of the bot may not be stopped either.
        let bot = loaded(
            "potion-runner.service",
            &["potion-runner.service", "pr.service"],
            "null",
        );
        assert_eq!(
            p.check_unit(SvcAction::Stop, "pr.service", &bot)
                .unwrap_err()
                .code,
            ReasonCode::SelfStop
        );
        // Any unit that puts a program on a terminal.
        for stdin in ["tty", "tty-force", "tty-fail"] {
            let shell = loaded("my-console.service", &["my-console.service"], stdin);
            let err = p.check_unit(a, "my-console.service", &shell).unwrap_err();
            assert_eq!(err.code, ReasonCode::TtyUnit, "{stdin}");
        }
    }

    #[test]
    fn the_bot_may_restart_but_not_stop_itself() {
        let p = Policy::new(Source::DenylistOnly, "my-bot.service");
        for unit in ["potion-runner.service", "my-bot.service", "my-bot"] {
            assert!(p.check(SvcAction::Stop, unit).is_err(), "{unit}");
            assert!(p.check(SvcAction::Restart, unit).is_ok(), "{unit}");
            assert!(p.check(SvcAction::Start, unit).is_ok(), "{unit}");
        }
    }

    #[test]
    fn allowlist_narrows_and_denylist_still_holds() {
        let p = allow(
            "# units the bot may control\nollama\nopen-webui*.service  # all of them\nssh.service\n\n",
        );
        assert!(p.check(SvcAction::Restart, "ollama.service").is_ok());
        assert!(p.check(SvcAction::Stop, "open-webui-2.service").is_ok());
        let err = p.check(SvcAction::Restart, "cron.service").unwrap_err();
        assert_eq!(err.code, ReasonCode::NotAllowed);
        assert!(
            err.message
                .contains("not in /etc/potion-runner/allowed-units"),
            "{err}"
        );
        assert_eq!(
            p.check(SvcAction::Restart, "ssh").unwrap_err().code,
            ReasonCode::ProtectedUnit
        );
        // Naming a firewall in the allowlist does not unprotect it.
        let p = allow("ufw\nnftables.service\napparmor\n");
        for unit in ["ufw", "nftables", "apparmor.service"] {
            let err = p.check(SvcAction::Stop, unit).unwrap_err();
            assert_eq!(err.code, ReasonCode::ProtectedUnit, "{unit}: {err}");
        }
    }

    #[test]
    fn bad_names_are_refused_before_any_list() {
        let p = allow("*\n");
        for bad in [
            "a;id",
            "$(id)",
            "a b",
            "-x",
            "../x.service",
            "x.timer",
            "foo@.service",
            "`id`",
            "",
        ] {
            assert!(p.check(SvcAction::Start, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn broken_allowlist_refuses_everything() {
        let p = Policy::new(Source::Broken("mode 666".into()), "potion-runner.service");
        let err = p.check(SvcAction::Start, "ollama").unwrap_err();
        assert_eq!(err.code, ReasonCode::AllowlistBroken);
        assert!(err.message.contains("mode 666"), "{err}");
        assert!(
            Allowlist::parse("ok.service\nfoo;bar\n")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        assert!(Allowlist::parse("a b*\n").is_err());
        assert!(Allowlist::parse("[unclosed*\n").is_err());
    }
}
