//! Capture filters (`-f`), in the pcap-filter(7) syntax tcpdump and tshark take, for what
//! wsdissect captures: TCP over IPv4 and IPv6. Packets that are not TCP are never kept, so
//! `tcp`, `ip`, `ip6`, `host`, `net`, `port` and `portrange` (with `src`/`dst`), joined by
//! `and`/`&&`, `or`/`||`, `not`/`!` and parentheses, cover what a capture for WebSocket needs;
//! anything else is refused with the list of what is understood, rather than misread.
//!
//! ```
//! use std::net::IpAddr;
//! use wsdissect::capture::filter::CaptureFilter;
//! let f = CaptureFilter::compile("tcp port 9000 and not host 10.0.0.1").unwrap();
//! let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
//! assert!(f.matches(a, 40000, b, 9000));
//! assert!(!f.matches(a, 40000, b, 80));
//! assert!(CaptureFilter::compile("udp[8] = 1").is_err());
//! ```

use std::net::IpAddr;

/// A compiled capture filter.
#[derive(Debug, Clone)]
pub struct CaptureFilter {
    expr: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Src,
    Dst,
    Either,
}

#[derive(Debug, Clone)]
enum Test {
    /// `tcp` (always true here), `ip`, `ip6`, or a protocol never kept (`udp`...).
    Proto(Option<bool>),
    Host(Dir, IpAddr),
    /// An address and the number of leading bits that must match.
    Net(Dir, IpAddr, u8),
    Ports(Dir, u16, u16),
}

#[derive(Debug, Clone)]
enum Expr {
    Test(Test),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

const UNDERSTOOD: &str = "understood: tcp, ip, ip6, [src|dst] host ADDR, [src|dst] net ADDR/BITS, \
                          [src|dst] [tcp] port N, portrange N-M, and/&&, or/||, not/!, ( )";

impl CaptureFilter {
    /// Compiles a filter; the error says what was not understood.
    pub fn compile(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text);
        if tokens.len() > MAX_TOKENS {
            return Err(format!("longer than {MAX_TOKENS} words"));
        }
        let mut parser = Parser { tokens: &tokens, at: 0, depth: 0, last: None };
        let expr = parser.or()?;
        match parser.tokens.get(parser.at) {
            None => Ok(CaptureFilter { expr }),
            Some(t) => Err(format!("unexpected \"{t}\" ({UNDERSTOOD})")),
        }
    }

    /// Whether a TCP packet between these ends passes.
    pub fn matches(&self, src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> bool {
        eval(&self.expr, &(src, src_port, dst, dst_port))
    }
}

type Ends = (IpAddr, u16, IpAddr, u16);

fn eval(e: &Expr, ends: &Ends) -> bool {
    match e {
        Expr::Not(e) => !eval(e, ends),
        Expr::And(a, b) => eval(a, ends) && eval(b, ends),
        Expr::Or(a, b) => eval(a, ends) || eval(b, ends),
        Expr::Test(t) => test(t, ends),
    }
}

fn test(t: &Test, &(src, sport, dst, dport): &Ends) -> bool {
    let either = |dir: Dir, f: &dyn Fn(IpAddr, u16) -> bool| match dir {
        Dir::Src => f(src, sport),
        Dir::Dst => f(dst, dport),
        Dir::Either => f(src, sport) || f(dst, dport),
    };
    match t {
        Test::Proto(None) => true,
        Test::Proto(Some(v4)) => src.is_ipv4() == *v4,
        Test::Host(dir, addr) => either(*dir, &|ip, _| ip == *addr),
        Test::Net(dir, net, bits) => either(*dir, &|ip, _| in_net(ip, *net, *bits)),
        Test::Ports(dir, lo, hi) => either(*dir, &|_, port| (*lo..=*hi).contains(&port)),
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)) << 96, u128::from(u32::from(n)) << 96, 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let bits = u32::from(bits.min(width));
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    ip & mask == net & mask
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let symbol = match c {
            '(' | ')' => Some(c.to_string()),
            '!' => Some("!".to_string()),
            '&' if next == Some('&') => Some("&&".to_string()),
            '|' if next == Some('|') => Some("||".to_string()),
            _ => None,
        };
        if c.is_whitespace() || symbol.is_some() {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            if let Some(s) = symbol {
                if s.len() == 2 {
                    chars.next();
                }
                tokens.push(s);
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// Parentheses and `not`s nested deeper than this are refused (the parser recurses).
const MAX_DEPTH: usize = 64;
/// Filters longer than this are refused (evaluating recurses down chains of `and` and `or`).
const MAX_TOKENS: usize = 4096;

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    depth: usize,
    /// The last primitive's direction and kind, for a bare value (`port 80 or 443`).
    last: Option<(Dir, &'a str)>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while matches!(self.peek(), Some("or" | "||")) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while matches!(self.peek(), Some("and" | "&&")) {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} deep"));
        }
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some("not" | "!") => {
                self.at += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.at += 1;
                let e = self.or()?;
                match self.next() {
                    Some(")") => Ok(e),
                    _ => Err("a \"(\" is not closed".into()),
                }
            }
            _ => self.primitive(),
        }
    }

    fn primitive(&mut self) -> Result<Expr, String> {
        let Some(first) = self.next() else { return Err(format!("the filter ends too soon ({UNDERSTOOD})")) };
        let (dir, mut kind) = match first {
            "src" => (Dir::Src, self.next().unwrap_or("")),
            "dst" => (Dir::Dst, self.next().unwrap_or("")),
            _ => (Dir::Either, first),
        };
        if kind == "tcp" && matches!(self.peek(), Some("port" | "portrange" | "src" | "dst")) {
            // `tcp port 80`: the protocol is implied, every packet kept is TCP.
            return self.primitive();
        }
        let proto = match kind {
            "tcp" => Some(Test::Proto(None)),
            "ip" => Some(Test::Proto(Some(true))),
            "ip6" => Some(Test::Proto(Some(false))),
            _ => None,
        };
        if let Some(p) = proto.filter(|_| dir == Dir::Either) {
            return Ok(Expr::Test(p));
        }
        if matches!(kind, "udp" | "icmp" | "icmp6" | "arp" | "sctp") && dir == Dir::Either {
            // Never kept: such a test is false.
            return Ok(Expr::Not(Box::new(Expr::Test(Test::Proto(None)))));
        }
        let value = if matches!(kind, "host" | "net" | "port" | "portrange") {
            self.next().ok_or_else(|| format!("\"{kind}\" needs a value"))?
        } else {
            // A bare value repeats the last primitive's kind.
            let (last_dir, last_kind) =
                self.last.ok_or_else(|| format!("\"{kind}\" is not understood ({UNDERSTOOD})"))?;
            let value = kind;
            kind = last_kind;
            return self.value(last_dir, kind, value);
        };
        self.last = Some((dir, kind));
        self.value(dir, kind, value)
    }

    fn value(&self, dir: Dir, kind: &str, value: &str) -> Result<Expr, String> {
        let bad = || format!("\"{kind} {value}\" is not understood ({UNDERSTOOD})");
        let port = |s: &str| s.parse::<u16>().map_err(|_| bad());
        let test = match kind {
            "host" => Test::Host(dir, value.parse().map_err(|_| bad())?),
            "net" => {
                let (addr, bits) = value.split_once('/').unwrap_or((value, ""));
                let addr: IpAddr = addr.parse().map_err(|_| bad())?;
                let width = if addr.is_ipv4() { 32 } else { 128 };
                let bits = if bits.is_empty() { width } else { bits.parse().map_err(|_| bad())? };
                if bits > width {
                    return Err(bad());
                }
                Test::Net(dir, addr, bits)
            }
            "port" => {
                let p = port(value)?;
                Test::Ports(dir, p, p)
            }
            "portrange" => {
                let (lo, hi) = value.split_once('-').ok_or_else(bad)?;
                Test::Ports(dir, port(lo)?, port(hi)?)
            }
            _ => return Err(bad()),
        };
        Ok(Expr::Test(test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(f: &str, src: &str, sport: u16, dst: &str, dport: u16) -> bool {
        CaptureFilter::compile(f).unwrap().matches(src.parse().unwrap(), sport, dst.parse().unwrap(), dport)
    }

    #[test]
    fn test_primitives_and_operators() {
        assert!(m("tcp port 9000", "127.0.0.1", 9000, "127.0.0.1", 5));
        assert!(m("port 80 or 443", "::1", 1, "::1", 443));
        assert!(!m("src port 80", "1.1.1.1", 1, "2.2.2.2", 80));
        assert!(m("dst port 80 && src host 1.1.1.1", "1.1.1.1", 1, "2.2.2.2", 80));
        assert!(m("net 10.0.0.0/8 and not (port 22 || portrange 6000-6010)", "10.1.2.3", 7000, "8.8.8.8", 1));
        assert!(!m("net 10.0.0.0/8 and not (port 22 || portrange 6000-6010)", "10.1.2.3", 6005, "8.8.8.8", 1));
        assert!(m("ip6", "::1", 1, "::1", 2) && !m("ip", "::1", 1, "::1", 2));
        assert!(!m("udp", "1.1.1.1", 1, "2.2.2.2", 2));
        assert!(m("dst net ::1/128", "::2", 1, "::1", 2));
    }

    #[test]
    fn test_what_is_not_understood() {
        for bad in [
            "tcp[13] & 2 != 0",
            "port",
            "port http",
            "host",
            "(port 1",
            "port 1 port",
            "ether host 1",
            "net 1.2.3.4/40",
        ] {
            assert!(CaptureFilter::compile(bad).is_err(), "{bad}");
        }
    }
}
