//! English words of the errors that reach chat: the functions behind
//! [`super::EN`]. Values are HTML-escaped through `q`/`path`.

use super::*;

pub(super) fn invalid_en(e: &Invalid) -> String {
    use InvalidKind::*;
    let v = q(&e.value);
    let max = crate::validate::UNIT_NAME_MAX;
    match e.kind {
        UnitEmpty => "The unit name is empty; try <code>ollama</code>.".into(),
        UnitLeadingMark => {
            format!("Unit name {v} may not start with <code>-</code> or <code>.</code>.")
        }
        UnitChar(c) => format!(
            "Unit name {v} has {}; use letters, digits and <code>: - _ . @</code> only.",
            q(&c.to_string())
        ),
        UnitTooLong => format!("That unit name is longer than {max} characters."),
        UnitShape => format!("{v} isn't a valid unit name."),
        NotService => {
            format!("{v} isn't a <code>.service</code> unit; only services can be controlled.")
        }
        Template => {
            format!("{v} is a template; name an instance like <code>foo@bar.service</code>.")
        }
        NotTime => format!("{v} isn't a time of day; use HH:MM, e.g. <code>02:30</code>."),
        TimeOutOfRange => format!("{v} isn't a time of day: hours go to 23, minutes to 59."),
        HostEmpty => "The host is empty; try <code>1.1.1.1</code>.".into(),
        HostTooLong => "That host name is longer than 253 characters.".into(),
        HostLikeOption => format!("{v} looks like an option, not a host."),
        NotHost => format!("{v} isn't a host name or IP address."),
        NotNumber => format!("{v} isn't a number; try <code>80</code> or <code>80.5</code>."),
        NotFinite => format!("{v} isn't an ordinary number."),
        OutOfRange(m) => format!(
            "{v} is out of range for {}: use a value above 0 and at most {}.",
            q(m.name()),
            m.max_threshold()
        ),
        NotSnapshotId => format!(
            "{v} isn't a snapshot id; ids look like <code>20260314T031500Z</code> (see /backup_list)."
        ),
        PathTooLong => "That path is too long; give the file or folder as it was backed up.".into(),
        PathControlChar => "That path has a control character; give it as it was backed up.".into(),
        PathLikeOption => format!("{v} looks like an option, not a path."),
        PathParent => format!(
            "{v} contains <code>..</code>; give the full path, e.g. <code>/opt/potion-runner/.env</code>."
        ),
        PathEmpty => {
            "Name the file or folder to restore, e.g. <code>/opt/potion-runner/.env</code>.".into()
        }
    }
}

pub(super) fn refused_en(e: &Refused, t: &ErrorTexts) -> String {
    use Refused::*;
    let days = crate::chatops::logs::MAX_SINCE_DAYS;
    match e {
        Invalid(i) => i.said(t),
        UnitNotListed { unit } => format!("{} isn't on the watch list, so I don't show its journal. Add it first with /svc_add.", q(unit)),
        NotLines { value } => format!("{} isn't a number of lines; try <code>100</code>.", q(value)),
        NotSpan { value } => format!("{} isn't a time span; try <code>30m</code>, <code>2h</code>, <code>yesterday</code> or <code>today</code>.", q(value)),
        EmptySpan { value } => format!("The span {} is empty; use at least 1.", q(value)),
        SpanTooLong { value } => format!("{} goes back too far; at most {days} days.", q(value)),
        LogIsPath { name } => format!("{} is a path; name a log in LOG_DIR, e.g. <code>actions.log</code>.", q(name)),
        LogNotSendable { name } => format!("I can't send {}; use <code>actions.log</code> or <code>actions.log.N</code>.", q(name)),
        LogMissing { name, dir } => format!("There's no {} in {} yet.", q(name), path(dir)),
        LogUnreadable { path: p, cause } => format!("I can't read {} ({}).", path(p), esc(cause)),
        LogNotFile { path: p } => format!("{} isn't a plain file, so I won't send it.", path(p)),
        LogTooBig { name, megabytes } => format!("{} is {megabytes} MB, over Telegram's 50 MB document limit.", q(name)),
        PipNotConfigured => "pip sync isn't set up: set <code>UPDATE_PIP_VENV</code> and <code>UPDATE_PIP_REQUIREMENTS</code> in .env.".into(),
        PipVenvNotFolder { venv } => format!("UPDATE_PIP_VENV {} isn't a folder; create the venv with <code>python3 -m venv</code>.", path(venv)),
        PipVenvWithoutPip { venv } => format!("{} has no <code>bin/pip</code>; is UPDATE_PIP_VENV really a venv?", path(venv)),
        PipRequirementsMissing { requirements } => format!("UPDATE_PIP_REQUIREMENTS {} isn't there.", path(requirements)),
        GitNotConfigured => "No repositories to pull yet: set <code>UPDATE_GIT_REPOS</code> in .env.".into(),
    }
}

pub(super) fn arg_en(e: &ArgError, t: &ErrorTexts) -> String {
    match e {
        ArgError::Invalid(i) => i.said(t),
        ArgError::UnknownMetric(m) => metric_en(m),
        ArgError::NoThreshold(m) => format!("{} has no threshold.", q(m.name())),
        ArgError::UnknownCode(c) => format!(
            "I don't know the alert code {}; pick one of {}.",
            q(c),
            alert_codes()
        ),
        ArgError::NotSubjectName(s) => format!("{} isn't a disk or probe name.", q(s)),
        ArgError::TakesNoSubject(c) => format!("{} takes no unit name.", q(c.as_str())),
        ArgError::NotMinutes { value, max } => format!(
            "{} isn't a number of minutes; use a whole number from 0 to {max}.",
            q(value)
        ),
    }
}

pub(super) fn notice_en(e: &ParseError, t: &ErrorTexts) -> String {
    match e {
        ParseError::NotAWindow(s) => format!(
            "{} isn't a time window; use HH:MM-HH:MM, e.g. <code>22:00-06:00</code>, or <code>off</code>.",
            q(s)
        ),
        ParseError::BadTime { reason, .. } | ParseError::BadUnit { reason, .. } => reason.said(t),
        ParseError::EmptyWindow(s) => format!("{} starts when it ends.", q(s)),
        ParseError::UnknownCode(s) => format!(
            "I don't know the alert code {}; pick one of {}.",
            q(s),
            alert_codes()
        ),
        ParseError::NeedsUnit(s) => format!(
            "{} needs a unit: {} or {}.",
            q(s),
            q(&format!("{s}:<unit>")),
            q(&format!("{s}:*"))
        ),
        ParseError::NotMinutes(s) => format!("{} isn't a number of minutes.", q(s)),
    }
}

pub(super) fn metric_en(m: &UnknownMetric) -> String {
    format!(
        "I don't know the metric {}; pick one of {}.",
        q(&m.name),
        q(m.choices)
    )
}

pub(super) fn chart_en(e: &BadArgs) -> String {
    match e {
        BadArgs::Metric(m) => metric_en(m),
        BadArgs::NotHours(v) => format!("{} isn't a number of hours; try <code>24</code>.", q(v)),
        BadArgs::HoursOutOfRange(v) => {
            format!("{} is out of range: use 1 to {MAX_HOURS} hours.", q(v))
        }
        BadArgs::TooMany => "Too many words; just a metric and then hours.".into(),
    }
}

pub(super) fn helper_en(c: ReasonCode) -> &'static str {
    use ReasonCode::*;
    match c {
        BadRequest => "❌ Couldn't {what}: the helper turned the request down as malformed.",
        ProtectedUnit => {
            "❌ Couldn't {what}: that unit is protected (it could hand out a shell, power the machine off or cut the network), so it isn't controlled from chat."
        }
        SelfStop => {
            "❌ Couldn't {what}: that's this bot itself; once stopped, I couldn't start it again from chat."
        }
        NotAllowed => {
            "❌ Couldn't {what}: that unit isn't in /etc/potion-runner/allowed-units yet."
        }
        AllowlistBroken => {
            "❌ Couldn't {what}: /etc/potion-runner/allowed-units can't be trusted or read, so I refuse every unit. Check its owner and contents."
        }
        NoSuchUnit => {
            "❌ Couldn't {what}: systemd doesn't know that unit. Check the spelling with /svc_list."
        }
        TtyUnit => {
            "❌ Couldn't {what}: that unit uses a terminal (StandardInput=tty), so it isn't controlled from chat."
        }
        UnitUnknown => {
            "❌ Couldn't {what}: systemd didn't answer about that unit. Try again in a moment."
        }
        BackupDirUntrusted => {
            "❌ Couldn't {what}: the backup folder isn't root's alone, so I leave it alone. Check who owns BACKUP_DIR."
        }
        NoSuchSnapshot => "❌ Couldn't {what}: that snapshot doesn't exist. See /backup_list.",
        FlagUnderSudo => "❌ Couldn't {what}: the helper takes no outside settings through sudo.",
        PowerActionsOff => "❌ Couldn't {what}: POWER_ACTIONS=1 isn't set in system.env.",
        NotOnBattery => "❌ Couldn't {what}: the machine isn't running on its battery.",
        BatteryNotLow => "❌ Couldn't {what}: the battery isn't low enough to power off yet.",
    }
}

pub(super) fn backup_status_en(s: &str) -> &'static str {
    match s {
        "ok" => "ok",
        "warnings" => "finished, some files skipped",
        "failed" => "failed",
        "none" => "never run yet",
        "running" => "running",
        _ => "unknown",
    }
}

pub(super) fn health_part_en(prefix: &str) -> &'static str {
    match part_key(prefix) {
        "system" => "system data (/proc)",
        "disk" => "disk usage",
        "backup" => "backup records",
        "services" => "service status (systemd didn't answer)",
        "smart" => "disk SMART",
        "temperature" => "temperature sensor",
        "power" => "battery and mains",
        _ => "another part",
    }
}

pub(super) fn unit_state_en(s: &str) -> &'static str {
    match s {
        "active" => "running",
        "reloading" => "reloading",
        "inactive" => "stopped",
        "failed" => "down (failed)",
        "activating" => "starting",
        "deactivating" => "stopping",
        "maintenance" | "refreshing" => "under maintenance",
        _ => "unknown",
    }
}

pub(super) const OPS: OpsResults = OpsResults {
    ip_none_up: "No network interface is up.",
    ip_hidden: "({n} loopback or down interfaces not shown)",
    ip_public: "🌍 Public IP: {ip}",
    ip_public_none: "🌍 Public IP: not reachable (the echo service didn't answer)",
    ping_summary: "{host}: {received} of {sent} replies, {loss}% loss",
    ping_rtt: "round trip min/avg/max {min}/{avg}/{max} ms",
    ping_failed: "Pinging {host} didn't work. ping said:",
    ts_not_installed: "Tailscale isn't installed on this machine (see tailscale.com/download/linux).",
    ts_failed: "I couldn't read Tailscale's status. tailscale said:",
    ts_head: "Tailscale {version} ({state})",
    ts_me: "This machine: {name} {ips}",
    ts_key_off: "Key: never expires",
    ts_key_expired: "⚠️ The key expired {when}; log in again with <code>tailscale up</code>.",
    ts_key_expires: "Key valid until {when} ({days} days left)",
    ts_online: "Peers online: {n}",
    ts_offline: "Peers offline: {n}",
    ts_seen: "last seen {when}",
    ts_never_seen: "never seen",
    ts_exit_node: " [exit node]",
    ts_health: "Health notes from Tailscale:",
    speed_not_installed: "speedtest-cli isn't installed; install it with <code>{hint}</code>.",
    speed_done: "⬇️ download {down} Mbit/s\n⬆️ upload {up} Mbit/s\nping {ping} ms",
    speed_server: "server: {server}",
    speed_distance: ", {km} km",
    speed_isp: "ISP: {isp}",
    apt_up_to_date: "Everything is up to date.",
    apt_count: "📦 {n} packages can be upgraded:",
    apt_reboot: "⚠️ A reboot is needed after the last upgrade.",
    apt_bad_report: "I couldn't read the helper's answer to apt update",
    pip_in_sync: "The venv is in sync; nothing was installed.",
    pip_installed: "{n} packages installed or changed:",
    git_up_to_date: "{repo}: already up to date ({head})",
    git_updated: "{repo}: {range} ({n} new commits)",
    git_not_ff: "{repo}: can't fast-forward, nothing was changed. git said:",
    git_failed: "{repo}: couldn't pull. git said:",
    git_not_updated: "{bad} of {n} repositories not updated",
    lines_earlier: "[… {n} earlier lines left out; the full output is in the document]",
    lines_more: "+{n} more in the document",
    job_aborted: "the run ended abnormally; details in /log_runtime",
};
