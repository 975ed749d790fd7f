//! A stand-in Telegram Bot API on 127.0.0.1 for the bot's end-to-end tests:
//! serves the methods potion-bot uses, long-polls `getUpdates` from a queue the
//! test fills, records every request, and can answer 429 or go down (refuse
//! connections) on command. Plain std networking, one thread per connection,
//! `Connection: close` on every answer so "down" really means refused.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub body: Value,
    /// Raw body text (multipart uploads are not JSON).
    pub raw: String,
    /// Answered with a 429 (the bot must send it again).
    pub limited: bool,
    /// The parts of a multipart upload (`sendPhoto`, `editMessageMedia`, …);
    /// their text fields are also in `body`, JSON-decoded where they are JSON.
    pub parts: Vec<Part>,
}

/// One part of a multipart request.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

impl Recorded {
    /// The first uploaded file (a part with a file name).
    #[allow(dead_code)] // not every suite uploads files
    pub fn file(&self) -> Option<&Part> {
        self.parts.iter().find(|p| p.filename.is_some())
    }
}

/// Splits a `multipart/form-data` body; the boundary is taken from its first line.
fn multipart(raw: &[u8]) -> Vec<Part> {
    let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
        return Vec::new();
    };
    if !raw.starts_with(b"--") {
        return Vec::new();
    }
    let delim = [b"\r\n".as_slice(), &raw[..end]].concat();
    let mut parts = Vec::new();
    let mut rest = &raw[end + 2..];
    while let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let body = &rest[head_end + 4..];
        let Some(stop) = body
            .windows(delim.len())
            .position(|w| w == delim.as_slice())
        else {
            break;
        };
        let attr = |key: &str| {
            let pat = format!("{key}=\"");
            head.find(&pat).map(|i| {
                let v = &head[i + pat.len()..];
                v[..v.find('"').unwrap_or(v.len())].to_string()
            })
        };
        parts.push(Part {
            name: attr("name").unwrap_or_default(),
            filename: attr("filename"),
            data: body[..stop].to_vec(),
        });
        rest = &body[stop + delim.len()..];
        match rest.strip_prefix(b"\r\n") {
            Some(r) => rest = r,
            None => break, // "--" after the last part
        }
    }
    parts
}

/// The text fields of a multipart request as a JSON object.
fn multipart_fields(parts: &[Part]) -> Value {
    let mut obj = serde_json::Map::new();
    for p in parts.iter().filter(|p| p.filename.is_none()) {
        let text = String::from_utf8_lossy(&p.data).into_owned();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        obj.insert(p.name.clone(), v);
    }
    Value::Object(obj)
}

#[derive(Default)]
struct Inner {
    updates: Mutex<VecDeque<Value>>,
    updates_cv: Condvar,
    log: Mutex<Vec<Recorded>>,
    log_cv: Condvar,
    /// method → (how many more requests to refuse, retry_after seconds)
    fail: Mutex<HashMap<String, (u32, u32)>>,
    down: AtomicBool,
    next_update: AtomicI64,
    next_message: AtomicI64,
}

pub struct StandIn {
    inner: Arc<Inner>,
    pub port: u16,
    stop: Arc<AtomicBool>,
}

pub const TOKEN: &str = "123456:TEST-token_abc";

impl StandIn {
    pub fn start() -> StandIn {
        StandIn::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Serves on a listener bound elsewhere, e.g. on 127.0.0.1 inside another
    /// network namespace (tests/systemd.rs). `down_for` rebinds in the test's
    /// own namespace, so it is only for listeners `start` made.
    pub fn start_on(listener: TcpListener) -> StandIn {
        let port = listener.local_addr().unwrap().port();
        let inner = Arc::new(Inner::default());
        inner.next_update.store(1, Ordering::SeqCst);
        inner.next_message.store(1000, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let (i2, s2) = (inner.clone(), stop.clone());
        thread::spawn(move || accept_loop(listener, port, i2, s2));
        StandIn { inner, port, stop }
    }

    /// Starts with the API down for `d` (the bot must still start).
    pub fn start_down(d: Duration) -> StandIn {
        let s = StandIn::start();
        s.down_for(d);
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn push(&self, mut update: Value) {
        let id = self.inner.next_update.fetch_add(1, Ordering::SeqCst);
        update["update_id"] = json!(id);
        self.inner.updates.lock().unwrap().push_back(update);
        self.inner.updates_cv.notify_all();
    }

    fn user(uid: i64) -> Value {
        json!({"id": uid, "is_bot": false, "first_name": "User", "username": format!("user{uid}")})
    }

    fn message(&self, uid: i64, text: &str) -> Value {
        let id = self.inner.next_message.fetch_add(1, Ordering::SeqCst);
        let mut m = json!({
            "message_id": id, "date": 1764097200,
            "chat": {"id": uid, "type": "private", "first_name": "User"},
            "from": StandIn::user(uid),
            "text": text,
        });
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .encode_utf16()
                .count();
            m["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        m
    }

    /// Queues a text message from `uid`.
    pub fn push_text(&self, uid: i64, text: &str) {
        let m = self.message(uid, text);
        self.push(json!({"message": m}));
    }

    /// Queues a text message from `uid` after `shape` changed it (a group
    /// chat, a forward origin, …).
    #[allow(dead_code)] // only the trust suite shapes messages
    pub fn push_text_shaped(&self, uid: i64, text: &str, shape: impl FnOnce(&mut Value)) {
        let mut m = self.message(uid, text);
        shape(&mut m);
        self.push(json!({"message": m}));
    }

    /// Queues a button press by `uid` on one of the bot's messages.
    pub fn push_callback(&self, uid: i64, data: &str) {
        let mut m = self.message(uid, "question");
        m["from"] =
            json!({"id": 1, "is_bot": true, "first_name": "potion", "username": "potion_bot"});
        m.as_object_mut().unwrap().remove("entities");
        let id = format!(
            "cq{}",
            self.inner.next_message.fetch_add(1, Ordering::SeqCst)
        );
        self.push(json!({"callback_query": {
            "id": id, "from": StandIn::user(uid), "chat_instance": "ci",
            "data": data, "message": m,
        }}));
    }

    /// The next `n` calls of `method` get a 429 with `retry_after`.
    pub fn fail_next(&self, method: &str, n: u32, retry_after: u32) {
        self.inner
            .fail
            .lock()
            .unwrap()
            .insert(method.to_string(), (n, retry_after));
    }

    /// Refuses connections for `d`, then comes back on the same port.
    pub fn down_for(&self, d: Duration) {
        self.inner.down.store(true, Ordering::SeqCst);
        self.inner.updates_cv.notify_all();
        let inner = self.inner.clone();
        thread::spawn(move || {
            thread::sleep(d);
            inner.down.store(false, Ordering::SeqCst);
        });
    }

    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::SeqCst)
    }

    /// Every request for `method` that got a normal answer, oldest first.
    pub fn requests(&self, method: &str) -> Vec<Recorded> {
        self.inner
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && !r.limited)
            .cloned()
            .collect()
    }

    /// Every normally answered request, in the order received.
    #[allow(dead_code)] // not every suite needs the order across methods
    pub fn all(&self) -> Vec<Recorded> {
        let log = self.inner.log.lock().unwrap();
        log.iter().filter(|r| !r.limited).cloned().collect()
    }

    /// Texts of every `sendMessage` to `chat`.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.requests("sendMessage")
            .into_iter()
            .filter(|r| r.body["chat_id"] == json!(chat))
            .map(|r| r.body["text"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Every request for `method` that was answered with a 429.
    pub fn limited(&self, method: &str) -> usize {
        self.inner
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.limited)
            .count()
    }

    /// Waits until a normally answered request for `method` matching `pred`
    /// arrives; returns it, or `None` after `timeout`.
    pub fn wait_for(
        &self,
        method: &str,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        let deadline = Instant::now() + timeout;
        let mut log = self.inner.log.lock().unwrap();
        loop {
            if let Some(r) = log
                .iter()
                .find(|r| r.method == method && !r.limited && pred(r))
            {
                return Some(r.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            log = self.inner.log_cv.wait_timeout(log, left).unwrap().0;
        }
    }

    /// Waits for a `sendMessage` whose text contains `needle`.
    pub fn wait_text(&self, needle: &str, timeout: Duration) -> Option<String> {
        self.wait_for("sendMessage", timeout, |r| {
            r.body["text"].as_str().is_some_and(|t| t.contains(needle))
        })
        .map(|r| r.body["text"].as_str().unwrap().to_string())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.inner.updates_cv.notify_all();
    }
}

fn accept_loop(mut listener: TcpListener, port: u16, inner: Arc<Inner>, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).unwrap();
    let mut open = true;
    while !stop.load(Ordering::SeqCst) {
        let down = inner.down.load(Ordering::SeqCst);
        if down && open {
            // Dropping the listener makes new connections fail with "refused".
            drop(std::mem::replace(&mut listener, dummy_listener()));
            open = false;
        }
        if !down && !open {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => {
                    l.set_nonblocking(true).unwrap();
                    listener = l;
                    open = true;
                }
                Err(_) => {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        if !open {
            thread::sleep(Duration::from_millis(10));
            continue;
        }
        match listener.accept() {
            Ok((s, _)) => {
                let i = inner.clone();
                let st = stop.clone();
                thread::spawn(move || {
                    let _ = serve(s, i, st);
                });
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

// A placeholder bound to an ephemeral port while the real one is closed.
fn dummy_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn read_request(s: &TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok((path, body))
}

fn respond(mut s: &TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    write!(
        s,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    s.flush()
}

const METHODS: &[&str] = &[
    "getMe",
    "getWebhookInfo",
    "deleteWebhook",
    "setMyCommands",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "answerCallbackQuery",
    "sendDocument",
    "sendPhoto",
    "editMessageMedia",
];

fn bot_user() -> Value {
    json!({"id": 1, "is_bot": true, "first_name": "potion", "username": "potion_bot",
           "can_join_groups": true, "can_read_all_group_messages": false,
           "supports_inline_queries": false, "can_connect_to_business": false,
           "has_main_web_app": false})
}

fn serve(s: TcpStream, inner: Arc<Inner>, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    let (path, raw) = read_request(&s)?;
    if inner.down.load(Ordering::SeqCst) {
        return Ok(()); // closes without an answer
    }
    // teloxide capitalises method names (`GetUpdates`); Telegram ignores case.
    let raw_method = path.rsplit('/').next().unwrap_or("");
    let method = METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(raw_method))
        .map(|m| m.to_string())
        .unwrap_or_else(|| raw_method.to_string());
    let parts = multipart(&raw);
    let body: Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(_) if !parts.is_empty() => multipart_fields(&parts),
        Err(_) => Value::Null,
    };
    let authorised = path.starts_with(&format!("/bot{TOKEN}/"));
    let limited = authorised && {
        let mut fail = inner.fail.lock().unwrap();
        match fail.get_mut(&method) {
            Some((n, after)) if *n > 0 => {
                *n -= 1;
                Some(*after)
            }
            _ => None,
        }
    }
    .is_some_and(|after| {
        let _ = respond(
            &s,
            429,
            &json!({"ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {after}"),
                    "parameters": {"retry_after": after}}),
        );
        true
    });
    {
        let mut log = inner.log.lock().unwrap();
        log.push(Recorded {
            method: method.clone(),
            body: body.clone(),
            raw: String::from_utf8_lossy(&raw).into_owned(),
            limited,
            parts,
        });
        inner.log_cv.notify_all();
    }
    if limited {
        return Ok(());
    }
    if !authorised {
        return respond(
            &s,
            401,
            &json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
    }
    let ok = |v: Value| json!({"ok": true, "result": v});
    let result = match method.as_str() {
        "getMe" => ok(bot_user()),
        "getWebhookInfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "deleteWebhook" | "setMyCommands" | "answerCallbackQuery" => ok(json!(true)),
        "getUpdates" => match get_updates(&inner, &stop, &body) {
            Some(v) => ok(v),
            // Went down while the long poll was waiting: drop the connection.
            None => return Ok(()),
        },
        "sendMessage" | "editMessageText" | "sendDocument" | "sendPhoto" | "editMessageMedia" => {
            let chat = body["chat_id"].as_i64().unwrap_or(0);
            let id = match body["message_id"].as_i64() {
                Some(id) => id,
                None => inner.next_message.fetch_add(1, Ordering::SeqCst),
            };
            let mut m = json!({"message_id": id, "date": 1764097200,
                "chat": {"id": chat, "type": "private", "first_name": "User"},
                "from": bot_user(), "text": body["text"].clone()});
            if method == "sendDocument" {
                m.as_object_mut().unwrap().remove("text");
                m["document"] = json!({"file_id": "f1", "file_unique_id": "u1"});
            }
            if method == "sendPhoto" || method == "editMessageMedia" {
                m.as_object_mut().unwrap().remove("text");
                m["photo"] = json!([{"file_id": "p1", "file_unique_id": "pu1", "width": 800, "height": 400}]);
                let caption = match method.as_str() {
                    "sendPhoto" => body["caption"].clone(),
                    _ => body["media"]["caption"].clone(),
                };
                if caption.is_string() {
                    m["caption"] = caption;
                }
            }
            ok(m)
        }
        _ => json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
    };
    // A request recorded as received is always answered, so a recorded
    // message really was delivered.
    respond(&s, 200, &result)
}

fn get_updates(inner: &Inner, stop: &AtomicBool, body: &Value) -> Option<Value> {
    let offset = body["offset"].as_i64().unwrap_or(0);
    let timeout = body["timeout"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut q = inner.updates.lock().unwrap();
    // Like Telegram: updates below the offset are confirmed and forgotten.
    q.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
    loop {
        if inner.down.load(Ordering::SeqCst) {
            return None;
        }
        if !q.is_empty() || stop.load(Ordering::SeqCst) {
            return Some(Value::Array(q.iter().cloned().collect()));
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Some(json!([]));
        };
        q = inner.updates_cv.wait_timeout(q, left).unwrap().0;
    }
}
