//! Update handling: a dptree schema whose first branch drops updates from the
//! wrong place (`context.rs`: other groups, forwarded messages, commands for
//! other bots), the second refuses anyone not in `ADMIN_IDS`, then messages
//! and button presses. This is the one router: a message becomes a `Plan`
//! (`plan.rs`, pure) that `execute.rs` carries out, a press becomes a
//! `Callback` parsed once; each writes exactly one audit line.

use std::sync::Arc;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::CallbackQuery;

use super::callback::Callback;
use super::command::Parsed;
use super::confirm::{Answer, Confirmable, now_s};
use super::context::{self, Origin, Verdict};
use super::execute::{execute, run_helper};
use super::follow::{backup_since, follow_backup};
use super::plan::{self, HelperAction};
use super::req::Req;
use super::send::{self};
use super::text::{esc, fill};
use super::{AuditResult, Shared, lock};

/// Runs one update through the schema; errors are logged, never fatal.
pub async fn dispatch(bot: Bot, shared: Arc<Shared>, update: Update) {
    let deps = dptree::deps![bot, shared, update];
    if let std::ops::ControlFlow::Break(Err(e)) = schema().dispatch(deps).await {
        log::error!("handling an update: {e:#}");
    }
}

fn is_admin(u: &Update, s: &Arc<Shared>) -> bool {
    u.from()
        .is_some_and(|user| lock(&s.cfg).admin_ids.contains(&(user.id.0 as i64)))
}

/// Messages and button presses are what a person sends; membership changes
/// and the like are ignored rather than answered with a refusal.
fn is_interaction(u: &Update) -> bool {
    matches!(
        u.kind,
        teloxide::types::UpdateKind::Message(_) | teloxide::types::UpdateKind::CallbackQuery(_)
    )
}

/// Where the update came from, judged by `context::judge`.
fn verdict(u: &Update, s: &Shared) -> Verdict {
    use teloxide::types::UpdateKind;
    let (chat, forwarded, text) = match &u.kind {
        UpdateKind::Message(m) => (
            &m.chat,
            // Text chosen through an inline bot is someone else's words too.
            m.forward_origin().is_some() || m.is_automatic_forward() || m.via_bot.is_some(),
            m.text().unwrap_or(""),
        ),
        UpdateKind::CallbackQuery(q) => match &q.message {
            Some(m) => (m.chat(), false, ""),
            // A press on an inline-mode message: we never send those.
            None => return Verdict::WrongChat,
        },
        _ => return Verdict::Take,
    };
    let origin = Origin {
        private: chat.is_private(),
        chat_id: chat.id.0,
        forwarded,
        text,
    };
    let admin_chat = lock(&s.cfg).admin_chat_id;
    context::judge(origin, admin_chat, s.me.get().map(String::as_str))
}

/// The handler tree: updates from the wrong place first, then strangers,
/// then messages and buttons.
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(
            dptree::filter(|u: Update, s: Arc<Shared>| {
                is_interaction(&u) && verdict(&u, &s) != Verdict::Take
            })
            .endpoint(on_out_of_context),
        )
        .branch(
            dptree::filter(|u: Update, s: Arc<Shared>| is_interaction(&u) && !is_admin(&u, &s))
                .endpoint(on_stranger),
        )
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

/// Nothing is run. A forwarded message gets one sentence saying why; another
/// group gets silence (answering there would leak the server's state to its
/// members); a command for another bot is not ours to log.
async fn on_out_of_context(bot: Bot, shared: Arc<Shared>, update: Update) -> anyhow::Result<()> {
    let verdict = verdict(&update, &shared);
    if let teloxide::types::UpdateKind::CallbackQuery(q) = &update.kind {
        let _ = bot.answer_callback_query(q.id.clone()).send().await;
    }
    let Some(user) = update.from().cloned() else {
        return Ok(());
    };
    let chat = update.chat().map(|c| c.id);
    let text = match &update.kind {
        teloxide::types::UpdateKind::Message(m) => m.text().unwrap_or(""),
        teloxide::types::UpdateKind::CallbackQuery(q) => q.data.as_deref().unwrap_or(""),
        _ => "",
    };
    match verdict {
        Verdict::Forwarded => {
            shared.audit(&user, "forwarded", text, &AuditResult::Denied);
            if let Some(chat) = chat {
                send::reply(&bot, chat, shared.texts().forwarded).await?;
            }
        }
        Verdict::WrongChat => {
            let place = chat.map_or("no chat".to_string(), |c| format!("chat {}", c.0));
            let place = format!("{place}: {text}");
            shared.audit(&user, "wrong_chat", &place, &AuditResult::Denied);
        }
        Verdict::OtherBot | Verdict::Take => {}
    }
    Ok(())
}

async fn on_stranger(bot: Bot, shared: Arc<Shared>, update: Update) -> anyhow::Result<()> {
    let Some(user) = update.from().cloned() else {
        return Ok(());
    };
    let what = match &update.kind {
        teloxide::types::UpdateKind::Message(m) => m.text().unwrap_or("").to_string(),
        teloxide::types::UpdateKind::CallbackQuery(q) => q.data.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let action = what
        .split_whitespace()
        .next()
        .unwrap_or("message")
        .to_string();
    shared.audit(&user, &action, &what, &AuditResult::Denied);
    if let teloxide::types::UpdateKind::CallbackQuery(q) = &update.kind {
        let _ = bot.answer_callback_query(q.id.clone()).send().await;
    }
    let cfg = shared.config();
    // Setup mode: no admin yet, so whoever writes is probably the owner.
    let setup = cfg.admin_ids.is_empty();
    if setup {
        let who = user.username.as_deref().unwrap_or("-");
        log::warn!(
            "setup mode: Telegram user {} (@{who}) wrote; put ADMIN_IDS={} in .env to make them the admin",
            user.id.0,
            user.id.0
        );
    }
    // One refusal per stranger per run: enough to learn their id, no more spam.
    if !lock(&shared.refused).insert(user.id.0) {
        return Ok(());
    }
    let t = shared.texts();
    let env = cfg.env_file.as_ref().map_or_else(
        || crate::config::DEFAULT_ENV_PATH.to_string(),
        |p| p.display().to_string(),
    );
    let tpl = if setup { t.setup_mode } else { t.stranger };
    let html = fill(tpl, &[("id", &user.id.0.to_string()), ("env", &esc(&env))]);
    if let Some(chat) = update.chat() {
        send::reply(&bot, chat.id, &html).await?;
    }
    Ok(())
}

async fn on_message(bot: Bot, shared: Arc<Shared>, msg: Message) -> anyhow::Result<()> {
    let Some(user) = msg.from.clone() else {
        return Ok(());
    };
    let text = msg.text().unwrap_or("");
    let req = Req {
        bot,
        shared: shared.clone(),
        chat: msg.chat.id,
        user,
    };
    let t = shared.texts();
    match plan::parse_message(text) {
        Parsed::Command(cmd, args) => {
            let cfg = shared.config();
            let plan = plan::plan(&cfg, shared.lang(), cmd, args);
            let plan = super::watchlist::vet(&cfg, t, plan).await;
            let result = execute(&req, plan).await;
            req.audit(cmd.name(), args, &result);
        }
        Parsed::Unknown(name) => {
            let shown: String = name.chars().take(64).collect();
            let html = match super::words::did_you_mean(name) {
                Some(guess) => fill(
                    t.watch.did_you_mean,
                    &[("name", &esc(&shown)), ("guess", guess)],
                ),
                None => fill(t.unknown_command, &[("name", &esc(&shown))]),
            };
            req.reply(&html).await?;
            req.audit(name, "", &AuditResult::Failed("unknown command".into()));
        }
        Parsed::Text => {
            req.reply(t.plain_text).await?;
        }
    }
    Ok(())
}

/// A button press: its data is parsed once into a [`Callback`]; answers go
/// to the pending question, the rest to the feature that owns the button.
async fn on_callback(bot: Bot, shared: Arc<Shared>, q: CallbackQuery) -> anyhow::Result<()> {
    let data = q.data.clone().unwrap_or_default();
    let _ = bot.answer_callback_query(q.id.clone()).send().await;
    let Some(message) = q.message.as_ref() else {
        return Ok(());
    };
    let req = Req {
        bot,
        shared: shared.clone(),
        chat: message.chat().id,
        user: q.from.clone(),
    };
    let Some(cb) = Callback::parse(&data) else {
        req.audit(
            "button",
            &data,
            &AuditResult::Failed("unknown button".into()),
        );
        return Ok(());
    };
    let (action, args, result) = match &cb {
        Callback::Confirm { id, yes } => on_confirm(&req, message.id(), *id, *yes, &data).await,
        Callback::Ping(host) => {
            let r = super::ops::ping_button(&req, host).await;
            (cb.audit_name().to_string(), host.clone(), r)
        }
        Callback::Chart { metric, hours } => {
            let r = super::charts::on_button(&req, message.id(), *metric, *hours).await;
            (cb.audit_name().to_string(), data.clone(), r)
        }
        Callback::Mute { .. }
        | Callback::Status
        | Callback::AskRestart(_)
        | Callback::Logs(_)
        | Callback::RetryBackup
        | Callback::ShowChart(_) => {
            let cfg = shared.config();
            let r = match plan::plan_callback(&cfg, shared.lang(), &cb) {
                Some(plan) => {
                    execute(&req, super::watchlist::vet(&cfg, req.texts(), plan).await).await
                }
                None => AuditResult::Failed("unknown button".into()),
            };
            (cb.audit_name().to_string(), data.clone(), r)
        }
    };
    req.audit(&action, &args, &result);
    Ok(())
}

/// A Yes/No press: decided by the one question store, then run by the
/// feature the question belongs to. Returns the audit action, arguments and
/// result.
async fn on_confirm(
    req: &Req,
    msg_id: teloxide::types::MessageId,
    id: u64,
    yes: bool,
    data: &str,
) -> (String, String, AuditResult) {
    let t = req.texts();
    let (name, decided) = req.shared.questions.decide(id, req.user_id(), yes, now_s());
    let done = |r: AuditResult| (name.clone(), data.to_string(), r);
    let (html, result) = match decided {
        Answer::Answered => {
            // The message already shows the real outcome (or the run in progress).
            let _ = req.reply(t.confirm_answered).await;
            return done(AuditResult::Failed("already answered".into()));
        }
        Answer::Expired => (
            t.confirm_expired.to_string(),
            AuditResult::Failed("confirmation expired".into()),
        ),
        Answer::NotYours => {
            let _ = req.reply(t.confirm_not_yours).await;
            return done(AuditResult::Denied);
        }
        Answer::Cancelled => (
            t.cancelled.to_string(),
            AuditResult::Failed("cancelled".into()),
        ),
        Answer::Run(Confirmable::Job(job)) => {
            let (summary, result) = super::ops::run_confirmed(req, msg_id, job).await;
            return (name, summary, result);
        }
        Answer::Run(Confirmable::SmartAck(dev)) => {
            return done(super::smart::run_confirmed(req, msg_id, &dev).await);
        }
        Answer::Run(Confirmable::Helper(HelperAction::Restore { id, path })) => {
            return done(super::restore::run_confirmed(req, msg_id, &id, &path).await);
        }
        Answer::Run(Confirmable::Helper(action)) => {
            let since = backup_since();
            let r = run_helper(req, &action).await;
            if action == HelperAction::BackupStart && r.result == AuditResult::Ok {
                follow_backup(req, since);
            }
            let _ = req.edit_markup(msg_id, &r.html, r.markup(t)).await;
            return done(r.result);
        }
    };
    let _ = req.edit(msg_id, &html).await;
    done(result)
}

/// The dptree schema in process, against a tiny Bot API on 127.0.0.1 that
/// records each method called and answers `true`: which branch an update
/// takes, what it audits and what it sends, without the real binary.
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Mutex;

    const ADMIN: i64 = 1;
    const STRANGER: i64 = 99;

    /// Bot API methods called so far, in order (lower case: Telegram's
    /// method names are case-insensitive).
    type Calls = Arc<Mutex<Vec<String>>>;

    fn fake_api() -> (String, Calls) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let calls: Calls = Arc::default();
        let seen = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let method = line.split_whitespace().nth(1).unwrap_or("");
                let method = method.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                // A sent message is answered as one; every other method with `true`.
                let reply = if method == "sendmessage" {
                    r#"{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private","first_name":"u"},"text":"x"}}"#
                } else {
                    r#"{"ok":true,"result":true}"#
                };
                seen.lock().unwrap().push(method);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                        reply.len()
                    )
                    .as_bytes(),
                );
            }
        });
        (url, calls)
    }

    struct Rig {
        _dir: tempfile::TempDir,
        bot: Bot,
        shared: Arc<Shared>,
        calls: Calls,
    }

    fn rig() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::defaults();
        cfg.admin_ids = vec![ADMIN];
        cfg.state_dir = dir.path().join("state");
        cfg.log_dir = dir.path().join("logs");
        std::fs::create_dir_all(&cfg.state_dir).unwrap();
        std::fs::create_dir_all(&cfg.log_dir).unwrap();
        let (url, calls) = fake_api();
        let bot = Bot::new("123:test").set_api_url(url.parse().unwrap());
        Rig {
            _dir: dir,
            bot,
            shared: Arc::new(Shared::new(cfg)),
            calls,
        }
    }

    fn user(id: i64) -> serde_json::Value {
        serde_json::json!({"id": id, "is_bot": false, "first_name": "u"})
    }

    /// An update as Telegram sends it (parsed from text, as `getUpdates`
    /// replies are: teloxide's update parser borrows from its input).
    fn update(json: serde_json::Value) -> Update {
        let u: Update = serde_json::from_str(&json.to_string()).unwrap();
        assert!(
            !matches!(u.kind, teloxide::types::UpdateKind::Error(_)),
            "{json}"
        );
        u
    }

    fn message(from: i64, chat: serde_json::Value, text: &str) -> serde_json::Value {
        serde_json::json!({
            "update_id": 1,
            "message": {"message_id": 5, "date": 0, "chat": chat, "from": user(from), "text": text}
        })
    }

    fn private(id: i64) -> serde_json::Value {
        serde_json::json!({"id": id, "type": "private", "first_name": "u"})
    }

    impl Rig {
        fn run(&self, json: serde_json::Value) {
            let update = update(json);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(dispatch(self.bot.clone(), self.shared.clone(), update));
        }

        /// (action, result) of every audit line so far.
        fn audit(&self) -> Vec<(String, String)> {
            let path = self.shared.config().audit_log();
            crate::audit::tail(&path, 100)
                .unwrap()
                .into_iter()
                .map(|e| (e.action, e.result))
                .collect()
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[test]
    fn a_stranger_is_told_their_id_once_and_every_try_is_audited() {
        let r = rig();
        r.run(message(STRANGER, private(STRANGER), "/status"));
        r.run(message(STRANGER, private(STRANGER), "/backup_now"));
        assert_eq!(
            r.audit(),
            [
                ("/status".to_string(), "denied".to_string()),
                ("/backup_now".to_string(), "denied".to_string())
            ]
        );
        assert_eq!(r.calls(), ["sendmessage"], "one refusal per stranger");
    }

    #[test]
    fn forwarded_and_foreign_group_messages_run_nothing() {
        let r = rig();
        let mut fwd = message(ADMIN, private(ADMIN), "/backup_now");
        fwd["message"]["forward_origin"] =
            serde_json::json!({"type": "user", "date": 0, "sender_user": user(7)});
        r.run(fwd);
        let group = serde_json::json!({"id": -500, "type": "group", "title": "g"});
        r.run(message(ADMIN, group, "/status"));
        assert_eq!(
            r.audit(),
            [
                ("forwarded".to_string(), "denied".to_string()),
                ("wrong_chat".to_string(), "denied".to_string())
            ]
        );
        assert_eq!(r.calls(), ["sendmessage"], "silence in the other group");
    }

    #[test]
    fn a_forged_button_is_refused_and_a_command_is_routed_to_its_plan() {
        let r = rig();
        let press = serde_json::json!({
            "update_id": 2,
            "callback_query": {
                "id": "q1", "from": user(ADMIN), "chat_instance": "x", "data": "o:p:-f",
                "message": {"message_id": 9, "date": 0, "chat": private(ADMIN), "text": "Which host?"}
            }
        });
        r.run(press);
        r.run(message(ADMIN, private(ADMIN), "/lang en"));
        assert_eq!(
            r.audit(),
            [
                ("button".to_string(), "failed: unknown button".to_string()),
                ("lang".to_string(), "ok".to_string())
            ]
        );
        assert_eq!(r.shared.lang(), crate::config::Lang::En);
        assert_eq!(r.calls()[0], "answercallbackquery");
    }
}
