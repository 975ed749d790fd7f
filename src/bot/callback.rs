//! Button presses: [`Callback`] is the data under every button the bot
//! sends, parsed once when pressed; anything it does not parse is refused as
//! an unknown button. `plan::plan_callback` turns the presses that are plain
//! commands into a plan without I/O.

use crate::chatops::net::PingTarget;
use crate::metric::Metric;
use crate::validate;

use super::args::alert_code;
use super::command::{CALLBACK_MAX, MAX_MUTE_MIN};

/// A button press, decoded from its callback data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// `m:<minutes>:<code>`: mute an alert.
    Mute { code: String, minutes: u64 },
    /// `st`: show the status.
    Status,
    /// `r:<unit>`: ask to restart a unit (from a SERVICE_DOWN alert).
    AskRestart(String),
    /// `c:<id>:y|n`: the answer to a Yes/No question.
    Confirm { id: u64, yes: bool },
    /// `o:p:<host>`: ping a favourite host.
    Ping(String),
    /// `chart:<metric>:<hours>`: redraw a chart for another metric or range.
    Chart { metric: Metric, hours: u32 },
    /// `l:<unit>`: the journal of a watched unit (`/log_journal <unit>`).
    Logs(String),
    /// `b:now`: start a backup, as `/backup_now` (under `BACKUP_FAILED`).
    RetryBackup,
    /// `g:<metric>`: a new chart of a metric, as `/chart <metric>` (under its alert).
    ShowChart(Metric),
}

impl Callback {
    /// Callback data; `None` when it would not fit Telegram's 64 bytes.
    pub fn data(&self) -> Option<String> {
        let d = match self {
            Callback::Mute { code, minutes } => format!("m:{minutes}:{code}"),
            Callback::Status => "st".into(),
            Callback::AskRestart(u) => format!("r:{u}"),
            Callback::Confirm { id, yes } => format!("c:{id}:{}", if *yes { "y" } else { "n" }),
            Callback::Ping(h) => format!("o:p:{h}"),
            Callback::Chart { metric, hours } => format!("chart:{}:{hours}", metric.name()),
            Callback::Logs(u) => format!("l:{u}"),
            Callback::RetryBackup => "b:now".into(),
            Callback::ShowChart(m) => format!("g:{}", m.name()),
        };
        (d.len() <= CALLBACK_MAX).then_some(d)
    }

    /// Decodes callback data; anything unexpected (a forged unit, host, code,
    /// metric or range too) is `None`.
    pub fn parse(data: &str) -> Option<Callback> {
        if data == "st" {
            return Some(Callback::Status);
        }
        let (tag, rest) = data.split_once(':')?;
        match tag {
            "m" => {
                let (m, code) = rest.split_once(':')?;
                Some(Callback::Mute {
                    code: alert_code(code).ok()?,
                    minutes: m.parse().ok().filter(|m| *m <= MAX_MUTE_MIN)?,
                })
            }
            "r" => validate::service_name(rest).ok().map(Callback::AskRestart),
            "l" => validate::service_name(rest).ok().map(Callback::Logs),
            "b" => (rest == "now").then_some(Callback::RetryBackup),
            "g" => Metric::ALL
                .into_iter()
                .find(|m| m.name() == rest)
                .map(Callback::ShowChart),
            "c" => {
                let (id, yn) = rest.split_once(':')?;
                let yes = match yn {
                    "y" => true,
                    "n" => false,
                    _ => return None,
                };
                Some(Callback::Confirm {
                    id: id.parse().ok()?,
                    yes,
                })
            }
            "o" => {
                let host = rest.strip_prefix("p:")?;
                PingTarget::parse(host)
                    .ok()
                    .filter(|t| t.as_str() == host)
                    .map(|t| Callback::Ping(t.as_str().to_string()))
            }
            "chart" => {
                let (metric, hours) = rest.split_once(':')?;
                Some(Callback::Chart {
                    metric: Metric::ALL.into_iter().find(|m| m.name() == metric)?,
                    hours: crate::chart::parse_hours(hours).ok()?,
                })
            }
            _ => None,
        }
    }

    /// The audit line's action for a press.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Callback::Mute { .. } => "button alert_disable",
            Callback::Status => "button status",
            Callback::AskRestart(_) => "button svc restart",
            Callback::Confirm { .. } => "confirm",
            Callback::Ping(_) => "button ping",
            Callback::Chart { .. } => "button chart",
            Callback::Logs(_) => "button log_journal",
            Callback::RetryBackup => "button backup_now",
            Callback::ShowChart(_) => "button chart",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_round_trips() {
        let mut all = vec![
            Callback::Mute {
                code: "CPU_HIGH".into(),
                minutes: 60,
            },
            Callback::Status,
            Callback::AskRestart("ollama.service".into()),
            Callback::Confirm { id: 7, yes: true },
            Callback::Confirm { id: 8, yes: false },
            Callback::Ping("127.0.0.1".into()),
            Callback::Logs("ollama.service".into()),
            Callback::RetryBackup,
        ];
        for metric in Metric::ALL {
            all.push(Callback::ShowChart(metric));
            for hours in crate::chart::RANGE_CHOICES {
                all.push(Callback::Chart { metric, hours });
            }
        }
        for cb in all {
            let data = cb.data().expect("fits 64 bytes");
            assert_eq!(Callback::parse(&data), Some(cb), "{data}");
        }
    }

    #[test]
    fn forged_data_is_refused() {
        for bad in [
            "",
            "x",
            "m:60:NOPE",
            "m:99999999:CPU_HIGH",
            "r:-f.service",
            "r:../x",
            "l:-f",
            "c:1:maybe",
            "c:x:y",
            "o:p:-f",
            "o:y:3",
            "chart:gpu:6",
            "chart:cpu:0",
            "chart:cpu:999",
            "chart:cpu",
            "svc:cpu:6",
            "b:later",
            "b:",
            "g:gpu",
            "g:",
        ] {
            assert_eq!(Callback::parse(bad), None, "{bad:?}");
        }
    }
}
