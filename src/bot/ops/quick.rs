//! Short operations runs (journal, ping, ip, tailscale): on the blocking pool
//! with an `Exec` cancelled on shutdown, answered with one message.

use super::*;
use teloxide::prelude::*;

/// Why a short run gave no result.
pub(super) enum QuickError {
    /// The bot is stopping and refuses new runs.
    ShuttingDown,
    /// The run failed (its own error, a timeout included).
    Failed(anyhow::Error),
    /// The blocking task panicked or was cancelled.
    Aborted(tokio::task::JoinError),
}

impl QuickError {
    /// English, for the audit log.
    fn reason(&self) -> String {
        match self {
            QuickError::ShuttingDown => "the bot is shutting down".into(),
            QuickError::Failed(e) => format!("{e:#}"),
            QuickError::Aborted(e) => format!("the run ended abnormally: {e}"),
        }
    }

    /// The reply in the requester's language (HTML): the run's own reason
    /// (a program's or the system's words) follows verbatim in `<pre>`.
    fn html(&self, ctx: &Req) -> String {
        let er = ctx.texts().errors;
        match self {
            QuickError::ShuttingDown => o(ctx).shutting_down.to_string(),
            QuickError::Failed(e) => format!("{}\n{}", er.run_failed, pre(&format!("{e:#}"))),
            QuickError::Aborted(e) => {
                log::error!("short run: {e}");
                er.run_aborted.to_string()
            }
        }
    }
}

/// Runs a short, synchronous chatops call off the event loop, cancelled on shutdown.
pub(super) async fn quick<T, F>(ctx: &Req, timeout: Duration, f: F) -> Result<T, QuickError>
where
    T: Send + 'static,
    F: FnOnce(&Exec) -> anyhow::Result<T> + Send + 'static,
{
    let ops = &ctx.shared.ops;
    if ops.jobs.is_shutting_down() {
        return Err(QuickError::ShuttingDown);
    }
    let exec = ops.jobs.quick_exec(&Exec::new(), timeout);
    match tokio::task::spawn_blocking(move || f(&exec)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(QuickError::Failed(e)),
        Err(e) => Err(QuickError::Aborted(e)),
    }
}

pub(super) async fn send_error(ctx: &Req, err: QuickError) -> AuditResult {
    let html = err.html(ctx);
    replied(ctx.reply(&html).await, AuditResult::Failed(err.reason()))
}

/// A press on a favourite host's button (the host was checked when the
/// press was parsed).
pub async fn ping_button(req: &Req, host: &str) -> AuditResult {
    match PingTarget::parse(host) {
        Ok(target) => run_ping(req, target).await,
        Err(e) => AuditResult::Failed(e.to_string()),
    }
}

pub(super) async fn run_ping(ctx: &Req, target: PingTarget) -> AuditResult {
    let host = target.as_str().to_string();
    let r = quick(ctx, net::PING_TIMEOUT, move |exec| {
        net::ping_target(exec, &target)
    })
    .await;
    match r {
        Ok(outcome) => {
            let text = render::ping(w(ctx), &host, &outcome);
            let result = match &outcome {
                net::PingOutcome::Summary(s) if s.received > 0 => AuditResult::Ok,
                net::PingOutcome::Summary(s) => {
                    AuditResult::Failed(format!("no reply ({}% loss)", s.loss_percent))
                }
                net::PingOutcome::Failed(w) => AuditResult::Failed(w.clone()),
            };
            let html = format!("<b>{}</b>\n{text}", o(ctx).ping_title);
            replied(ctx.reply(&html).await, result)
        }
        Err(e) => send_error(ctx, e).await,
    }
}

pub(super) async fn send_journal(
    ctx: &Req,
    title: &str,
    r: Result<Journal, QuickError>,
) -> AuditResult {
    let j = match r {
        Ok(j) => j,
        Err(e) => return send_error(ctx, e).await,
    };
    let (html, as_doc) = journal_html(o(ctx), w(ctx), title, &j);
    let sent = ctx.reply(&html).await;
    if as_doc && sent.is_ok() {
        ctx.document("journal.txt", j.text.clone().into_bytes(), title)
            .await;
    }
    let result = match &j.state {
        JournalState::Unavailable(why) => {
            AuditResult::Failed(format!("journal unavailable: {why}"))
        }
        _ => AuditResult::Ok,
    };
    replied(sent, result)
}

pub(super) async fn send_log_file(ctx: &Req, name: &str) -> AuditResult {
    let dir = ctx.shared.config().log_dir;
    let file = match logs::log_file(&dir, Some(name)) {
        Ok(f) => f,
        Err(e) => {
            let t = ctx.texts();
            let html = fill(t.invalid, &[("err", &e.said(t.errors))]);
            return replied(ctx.reply(&html).await, AuditResult::Failed(e.to_string()));
        }
    };
    let caption = fill(
        o(ctx).log_file_caption,
        &[("name", &esc(&file.name)), ("size", &file.size.to_string())],
    ) + "\n"
        + ctx.texts().watch.log_file_note;
    let r = send::retrying(|| {
        ctx.bot
            .send_document(
                ctx.chat,
                InputFile::file(file.path.clone()).file_name(file.name.clone()),
            )
            .caption(caption.clone())
            .parse_mode(teloxide::types::ParseMode::Html)
            .send()
    })
    .await;
    replied(r.map(|_| ()), AuditResult::Ok)
}
