//! A minimal blocking D-Bus client for one question to systemd: the
//! `ActiveState`/`SubState` of the `SERVICES` units, without a child process.
//!
//! Hand-written rather than `zbus`: the health job asks one method call a
//! minute, and a few hundred lines of marshalling (SASL EXTERNAL, `Hello`,
//! one `org.freedesktop.systemd1.Manager.ListUnitsByNames`, little-endian
//! writing, either byte order reading) keep the binary free of an async
//! runtime and its start-up and memory. `ListUnitsByNames` loads each unit
//! like `systemctl show` does, so an unknown unit reads `inactive`/`dead`
//! and an alias answers with its real name.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// systemd's own socket: no bus daemon in between, but only root may use it.
pub const PRIVATE_SOCKET: &str = "/run/systemd/private";
/// The system bus, open to every user; systemd's policy allows this read-only call.
pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A reply larger than this is refused rather than buffered.
const MAX_MESSAGE: usize = 1 << 20;

/// One unit as systemd describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub load: String,
    pub active: String,
    pub sub: String,
}

/// Where the system bus is: `$DBUS_SYSTEM_BUS_ADDRESS` (only its
/// `unix:path=` form) when set, as every D-Bus library honours it, else the
/// standard socket.
pub fn system_bus(env: Option<&str>) -> Result<String> {
    match env {
        None => Ok(SYSTEM_BUS.to_string()),
        Some(a) => a
            .split(';')
            .find_map(|a| a.strip_prefix("unix:path="))
            .map(|p| p.split(',').next().unwrap_or(p).to_string())
            .ok_or_else(|| anyhow!("DBUS_SYSTEM_BUS_ADDRESS has no unix:path= address: {a}")),
    }
}

/// Asks systemd for `units` in one call: over the private socket when this
/// process may open it (root) and no bus address is set, else over the
/// system bus.
pub fn list_units(units: &[String], timeout: Duration) -> Result<Vec<UnitState>> {
    let env = std::env::var("DBUS_SYSTEM_BUS_ADDRESS").ok();
    if env.is_none() {
        if let Ok(s) = UnixStream::connect(Path::new(PRIVATE_SOCKET)) {
            return Conn::open(s, false, timeout)?.list_units(units);
        }
    }
    let path = system_bus(env.as_deref())?;
    let s = UnixStream::connect(&path)
        .with_context(|| format!("connecting to the system bus at {path}"))?;
    Conn::open(s, true, timeout)?.list_units(units)
}

/// An authenticated connection; `bus` says whether a bus daemon routes it
/// (then `Hello` is needed and calls name their destination).
pub struct Conn {
    sock: UnixStream,
    bus: bool,
    serial: u32,
}

impl Conn {
    /// SASL EXTERNAL with this process's uid, then `Hello` on a bus. The
    /// commands are sent in one write and the answers read after, as sd-bus does.
    pub fn open(mut sock: UnixStream, bus: bool, timeout: Duration) -> Result<Conn> {
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        // SAFETY: getuid cannot fail and touches no memory.
        let uid = unsafe { libc::getuid() }.to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        sock.write_all(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())
            .context("writing the D-Bus authentication")?;
        let line = read_line(&mut sock)?;
        if !line.starts_with("OK ") {
            bail!("D-Bus authentication refused: {line}");
        }
        let mut c = Conn {
            sock,
            bus,
            serial: 0,
        };
        if bus {
            let m = c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                "",
                &[],
            );
            c.reply(m).context("D-Bus Hello")?;
        }
        Ok(c)
    }

    /// `Manager.ListUnitsByNames`: one answer per unit, matched by position.
    pub fn list_units(&mut self, units: &[String]) -> Result<Vec<UnitState>> {
        let mut body = Writer::default();
        body.u32(0);
        let start = body.0.len();
        for u in units {
            body.string(u);
        }
        let len = u32::try_from(body.0.len() - start)?;
        body.0[..4].copy_from_slice(&len.to_le_bytes());
        let serial = self.call(
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "ListUnitsByNames",
            "as",
            &body.0,
        );
        let reply = self.reply(serial).context("ListUnitsByNames")?;
        if reply.signature != "a(ssssssouso)" {
            bail!("ListUnitsByNames answered {:?}", reply.signature);
        }
        let got = parse_units(&reply)?;
        if got.len() != units.len() {
            bail!(
                "systemd gave {} answers for {} units",
                got.len(),
                units.len()
            );
        }
        Ok(got)
    }

    /// Sends one method call; returns its serial. A failed write shows up
    /// as the missing reply, so it is not reported twice.
    fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        sig: &str,
        body: &[u8],
    ) -> u32 {
        self.serial += 1;
        let msg = method_call(
            self.serial,
            self.bus.then_some(dest),
            path,
            iface,
            member,
            sig,
            body,
        );
        let _ = self.sock.write_all(&msg);
        self.serial
    }

    /// Reads messages until the reply to `serial` (signals such as
    /// `NameAcquired` are skipped); a D-Bus error becomes an error.
    fn reply(&mut self, serial: u32) -> Result<Message> {
        loop {
            let m = read_message(&mut self.sock)?;
            if m.reply_serial != Some(serial) {
                continue;
            }
            return match m.kind {
                METHOD_RETURN => Ok(m),
                ERROR => {
                    let text = Reader::new(&m.body, m.big).string().unwrap_or_default();
                    Err(anyhow!("{}: {text}", m.error_name))
                }
                k => Err(anyhow!("unexpected D-Bus message type {k}")),
            };
        }
    }
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;

/// A message as read: its type, the header fields this client uses and the body.
#[derive(Debug)]
pub struct Message {
    kind: u8,
    big: bool,
    reply_serial: Option<u32>,
    error_name: String,
    signature: String,
    body: Vec<u8>,
}

/// Marshals a method call (little endian).
fn method_call(
    serial: u32,
    dest: Option<&str>,
    path: &str,
    iface: &str,
    member: &str,
    sig: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut w = Writer::default();
    w.0.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
    w.u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
    w.u32(serial);
    w.u32(0); // header fields length, filled in below
    let fields_start = w.0.len();
    let field = |w: &mut Writer, code: u8, ty: &str, value: &str| {
        w.pad(8);
        w.0.push(code);
        w.signature(ty);
        if ty == "g" {
            w.signature(value);
        } else {
            w.string(value);
        }
    };
    field(&mut w, 1, "o", path);
    field(&mut w, 2, "s", iface);
    field(&mut w, 3, "s", member);
    if let Some(d) = dest {
        field(&mut w, 6, "s", d);
    }
    if !sig.is_empty() {
        field(&mut w, 8, "g", sig);
    }
    let len = u32::try_from(w.0.len() - fields_start).unwrap_or(u32::MAX);
    w.0[12..16].copy_from_slice(&len.to_le_bytes());
    w.pad(8);
    w.0.extend_from_slice(body);
    w.0
}

/// Reads one whole message from the socket.
fn read_message(sock: &mut impl Read) -> Result<Message> {
    let mut fixed = [0u8; 16];
    sock.read_exact(&mut fixed)
        .context("reading a D-Bus reply")?;
    let big = match fixed[0] {
        b'l' => false,
        b'B' => true,
        b => bail!("not a D-Bus message (endianness byte {b:#x})"),
    };
    let num = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let body_len = num(&fixed[4..8]) as usize;
    let fields_len = num(&fixed[12..16]) as usize;
    let total = (16 + fields_len).next_multiple_of(8) + body_len;
    if total > MAX_MESSAGE {
        bail!("D-Bus message of {total} bytes is too large");
    }
    let mut rest = vec![0u8; total - 16];
    sock.read_exact(&mut rest)
        .context("reading a D-Bus reply")?;
    let mut whole = fixed.to_vec();
    whole.extend_from_slice(&rest);
    let body = whole.split_off((16 + fields_len).next_multiple_of(8));
    let mut m = Message {
        kind: fixed[1],
        big,
        reply_serial: None,
        error_name: String::new(),
        signature: String::new(),
        body,
    };
    let mut r = Reader::new(&whole, big);
    r.pos = 16;
    while r.pos < 16 + fields_len {
        r.align(8)?;
        let code = r.byte()?;
        let ty = r.signature()?;
        match (code, ty.as_str()) {
            (4, "s") => m.error_name = r.string()?,
            (5, "u") => m.reply_serial = Some(r.u32()?),
            (8, "g") => m.signature = r.signature()?,
            (_, "s" | "o") => {
                r.string()?;
            }
            (_, "u") => {
                r.u32()?;
            }
            (_, "g") => {
                r.signature()?;
            }
            (c, t) => bail!("unexpected D-Bus header field {c} of type {t}"),
        }
    }
    Ok(m)
}

/// The body of a `ListUnitsByNames` reply: `a(ssssssouso)`.
fn parse_units(m: &Message) -> Result<Vec<UnitState>> {
    let mut r = Reader::new(&m.body, m.big);
    let len = r.u32()? as usize;
    r.align(8)?;
    let end = r.pos + len;
    let mut out = Vec::new();
    while r.pos < end {
        r.align(8)?;
        let id = r.string()?;
        let _description = r.string()?;
        let load = r.string()?;
        let active = r.string()?;
        let sub = r.string()?;
        for _ in 0..2 {
            r.string()?; // following unit, object path
        }
        r.u32()?; // job id
        for _ in 0..2 {
            r.string()?; // job type, job path
        }
        out.push(UnitState {
            id,
            load,
            active,
            sub,
        });
    }
    Ok(out)
}

/// The SASL answer line.
fn read_line(sock: &mut impl Read) -> Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if line.len() > 512 {
            bail!("D-Bus authentication answer too long");
        }
        sock.read_exact(&mut b)
            .context("reading the D-Bus authentication answer")?;
        line.push(b[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Little-endian marshalling into a buffer that starts aligned.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn pad(&mut self, to: usize) {
        self.0.resize(self.0.len().next_multiple_of(to), 0);
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn string(&mut self, s: &str) {
        self.u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
    fn signature(&mut self, s: &str) {
        self.0.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
}

/// Unmarshalling with bounds checks; offsets count from the message start.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], big: bool) -> Reader<'a> {
        Reader { buf, pos: 0, big }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self
            .buf
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or_else(|| anyhow!("D-Bus message cut short"))?;
        self.pos += n;
        Ok(s)
    }
    fn align(&mut self, to: usize) -> Result<()> {
        let n = self.pos.next_multiple_of(to) - self.pos;
        self.take(n).map(drop)
    }
    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        self.align(4)?;
        let b = self.take(4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
    fn text(&mut self, len: usize) -> Result<String> {
        let s = self.take(len + 1)?;
        Ok(String::from_utf8_lossy(&s[..len]).into_owned())
    }
    fn string(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        self.text(len)
    }
    fn signature(&mut self) -> Result<String> {
        let len = self.byte()? as usize;
        self.text(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply as systemd would send it (little endian).
    fn reply(
        kind: u8,
        serial: u32,
        reply_serial: u32,
        sig: &str,
        extra: &[(u8, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut w = Writer::default();
        w.0.extend_from_slice(&[b'l', kind, 1, 1]);
        w.u32(body.len() as u32);
        w.u32(serial);
        w.u32(0);
        let start = w.0.len();
        w.pad(8);
        w.0.push(5);
        w.signature("u");
        w.u32(reply_serial);
        if !sig.is_empty() {
            w.pad(8);
            w.0.push(8);
            w.signature("g");
            w.signature(sig);
        }
        for (code, text) in extra {
            w.pad(8);
            w.0.push(*code);
            w.signature("s");
            w.string(text);
        }
        let len = (w.0.len() - start) as u32;
        w.0[12..16].copy_from_slice(&len.to_le_bytes());
        w.pad(8);
        w.0.extend_from_slice(body);
        w.0
    }

    fn units_body(units: &[(&str, &str, &str)]) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(0);
        w.pad(8);
        let start = w.0.len();
        for (id, active, sub) in units {
            w.pad(8);
            for s in [*id, "desc", "loaded", *active, *sub, "", "/org/x"] {
                w.string(s);
            }
            w.u32(0);
            w.string("");
            w.string("/");
        }
        let len = (w.0.len() - start) as u32;
        w.0[..4].copy_from_slice(&len.to_le_bytes());
        w.0
    }

    /// A fake bus: answers the authentication, `Hello` (with a signal in
    /// between, as dbus-daemon sends `NameAcquired`) and the unit call.
    fn fake_bus(
        answer: impl Fn(&Message, u32) -> Vec<u8> + Send + 'static,
    ) -> (UnixStream, std::thread::JoinHandle<Vec<String>>) {
        let (client, mut server) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || {
            let mut auth = Vec::new();
            let mut b = [0u8; 1];
            while !auth.ends_with(b"BEGIN\r\n") {
                server.read_exact(&mut b).unwrap();
                auth.push(b[0]);
            }
            server.write_all(b"OK 0123456789abcdef\r\n").unwrap();
            let mut members = Vec::new();
            for serial in [1u32, 2] {
                let call = read_message(&mut server).unwrap();
                members.push(format!("{} {}", call.signature, call.body.len()));
                if serial == 1 {
                    server.write_all(&reply(4, 7, 0, "", &[], &[])).unwrap();
                    let mut body = Writer::default();
                    body.string(":1.5");
                    server
                        .write_all(&reply(METHOD_RETURN, 8, 1, "s", &[], &body.0))
                        .unwrap();
                } else {
                    server.write_all(&answer(&call, serial)).unwrap();
                }
            }
            members.insert(0, String::from_utf8_lossy(&auth).into_owned());
            members
        });
        (client, t)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lists_units_over_a_bus() {
        let (sock, t) = fake_bus(|call, serial| {
            // The call carries the names: `as` with two strings.
            let mut r = Reader::new(&call.body, false);
            assert_eq!(r.u32().unwrap(), (4 + 12 + 1 + 3) + (4 + 11 + 1));
            assert_eq!(r.string().unwrap(), "sshd.service");
            assert_eq!(r.string().unwrap(), "rag.service");
            let body = units_body(&[
                ("ssh.service", "active", "running"),
                ("rag.service", "failed", "failed"),
            ]);
            reply(METHOD_RETURN, 9, serial, "a(ssssssouso)", &[], &body)
        });
        let mut c = Conn::open(sock, true, Duration::from_secs(5)).unwrap();
        let got = c
            .list_units(&names(&["sshd.service", "rag.service"]))
            .unwrap();
        assert_eq!(got[0].id, "ssh.service");
        assert_eq!(
            (got[0].active.as_str(), got[0].sub.as_str()),
            ("active", "running")
        );
        assert_eq!(
            (got[1].load.as_str(), got[1].active.as_str()),
            ("loaded", "failed")
        );
        let seen = t.join().unwrap();
        let uid = unsafe { libc::getuid() }.to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(seen[0], format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n"));
        assert_eq!(seen[1], " 0", "Hello has no arguments");
        assert_eq!(seen[2], "as 40");
    }

    #[test]
    fn errors_and_wrong_answers_are_errors() {
        let (sock, _t) = fake_bus(|_, serial| {
            let mut body = Writer::default();
            body.string("Access denied");
            reply(
                ERROR,
                9,
                serial,
                "s",
                &[(4, "org.freedesktop.DBus.Error.AccessDenied")],
                &body.0,
            )
        });
        let mut c = Conn::open(sock, true, Duration::from_secs(5)).unwrap();
        let e = c.list_units(&names(&["a.service"])).unwrap_err();
        assert!(
            format!("{e:#}").contains("AccessDenied: Access denied"),
            "{e:#}"
        );
        let (sock, _t) = fake_bus(|_, serial| {
            let body = units_body(&[("a.service", "active", "running")]);
            reply(METHOD_RETURN, 9, serial, "a(ssssssouso)", &[], &body)
        });
        let mut c = Conn::open(sock, true, Duration::from_secs(5)).unwrap();
        let e = c
            .list_units(&names(&["a.service", "b.service"]))
            .unwrap_err();
        assert!(e.to_string().contains("1 answers for 2 units"), "{e}");
    }

    #[test]
    fn reads_big_endian_and_refuses_garbage() {
        // An error reply in big endian: reply serial 3, error name "E", body "no".
        let mut m = vec![b'B', ERROR, 0, 1, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 18];
        m.extend_from_slice(&[5, 1, b'u', 0, 0, 0, 0, 3]);
        m.extend_from_slice(&[4, 1, b's', 0, 0, 0, 0, 1, b'E', 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&[0, 0, 0, 2, b'n', b'o', 0]);
        let got = read_message(&mut m.as_slice()).unwrap();
        assert_eq!(
            (got.kind, got.reply_serial, got.error_name.as_str()),
            (ERROR, Some(3), "E")
        );
        assert_eq!(Reader::new(&got.body, true).string().unwrap(), "no");
        assert!(read_message(&mut &m[..20]).is_err(), "cut short");
        assert!(read_message(&mut &b"HTTP/1.1 200 OK\r\n\r\n"[..]).is_err());
        let mut huge = m.clone();
        huge[4..8].copy_from_slice(&[0x7f, 0, 0, 0]);
        assert!(read_message(&mut huge.as_slice()).is_err(), "too large");
    }

    #[test]
    fn bus_address_from_the_environment() {
        assert_eq!(system_bus(None).unwrap(), SYSTEM_BUS);
        assert_eq!(
            system_bus(Some("unix:path=/x/bus,guid=1")).unwrap(),
            "/x/bus"
        );
        assert_eq!(system_bus(Some("tcp:host=a;unix:path=/y")).unwrap(), "/y");
        assert!(system_bus(Some("tcp:host=a,port=1")).is_err());
    }
}
