//! A day of a service in a minute: the load client of `bench/day.sh`.
//!
//! Simulated users sign in, read (most requests), refresh when their access token is due, and
//! sign out, through instances of one service behind an imaginary load balancer that sends each
//! request to any of them. A fifth of the users sign in on two devices; one in twenty signs out
//! everywhere. After every sign-out, the tokens it ended are tried again on every instance (a
//! read and a refresh each) once the other instances' copies of the revocations may have
//! caught up (`--settle-ms`, more than `replica_max_lag_ms`): any of them accepted is counted,
//! and must never be.
//!
//! ```sh
//! cargo run --release --example day -- --targets http://127.0.0.1:8001,http://127.0.0.1:8002
//! ```
//!
//! Flags: `--targets URL[,URL...]` (required), `--seconds` (60), `--connections` (32 clients,
//! each signing in users of its own share), `--users` (10,000), `--reads LOW-HIGH` (reads in a
//! session, 200-2000), `--refresh-after-ms` (500), `--settle-ms` (250).
//!
//! The service answers `POST /login {"username", "password"}` (the password `bench`), `GET
//! /local` (an access token's read), `POST /refresh` (a refresh token, for a new pair), `POST
//! /logout` (an access token: its session) and `POST /logout-all` (an access token: every
//! session of its user), with token pairs as `{"access_token", "refresh_token", ...}`. The
//! `bench_server` example and `bench/fastapi_app.py` both do.
//!
//! It prints one line, `day {...}`: requests per second, the revoked tokens accepted, and per
//! route the requests, the unexpected answers (by status, 0 for none), and the median and
//! 99th-percentile latency.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::serde::json::{Value, json, serde_json};
use rocket::tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use rocket::tokio::net::TcpStream;
use rocket::tokio::{self, time};

/// What the command line sets.
struct Options {
    targets: Vec<String>,
    connections: usize,
    users: usize,
    duration: Duration,
    /// After this long an access token is refreshed before any further read.
    refresh_after: Duration,
    settle: Duration,
    /// Reads in a session, between the two bounds.
    reads: (u64, u64),
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Options {
            targets: Vec::new(),
            connections: 32,
            users: 10_000,
            duration: Duration::from_secs(60),
            refresh_after: Duration::from_millis(500),
            settle: Duration::from_millis(250),
            reads: (200, 2000),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag}: not a number"))
            };
            match flag.as_str() {
                "--targets" => options.targets = value.split(',').map(str::to_owned).collect(),
                "--connections" => options.connections = number()? as usize,
                "--users" => options.users = number()? as usize,
                "--seconds" => options.duration = Duration::from_secs(number()?),
                "--refresh-after-ms" => options.refresh_after = Duration::from_millis(number()?),
                "--settle-ms" => options.settle = Duration::from_millis(number()?),
                "--reads" => {
                    let (low, high) = value.split_once('-').ok_or("--reads: LOW-HIGH")?;
                    let parse = |v: &str| v.parse::<u64>().map_err(|_| "--reads: LOW-HIGH");
                    options.reads = (parse(low)?, parse(high)?.max(parse(low)? + 1));
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        if options.targets.is_empty() {
            return Err("--targets URL[,URL...] is needed".into());
        }
        options.connections = options.connections.clamp(1, options.users.max(1));
        Ok(options)
    }
}

/// One keep-alive HTTP/1.1 connection to one instance.
struct Connection {
    address: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Connection {
    fn new(target: &str) -> Self {
        let address = target.trim_start_matches("http://").trim_end_matches('/');
        Connection {
            address: address.to_owned(),
            stream: None,
        }
    }

    /// Sends a request and returns the status and the body (reconnecting when the server
    /// closed the connection).
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> std::io::Result<(u16, String)> {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.address);
        if let Some(token) = bearer {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or("");
        if method == "POST" {
            request.push_str("Content-Type: application/json\r\n");
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        for attempt in 0..2 {
            if self.stream.is_none() {
                let stream = TcpStream::connect(&self.address).await?;
                stream.set_nodelay(true)?;
                self.stream = Some(BufReader::new(stream));
            }
            match self.exchange(request.as_bytes()).await {
                Ok(answer) => return Ok(answer),
                Err(_) if attempt == 0 => self.stream = None,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the second attempt returns")
    }

    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, String)> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| invalid("not connected"))?;
        stream.get_mut().write_all(request).await?;
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Err(invalid("closed"));
        }
        let status: u16 = (line.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("no status"))?;
        let mut length = 0;
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("content-length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid("chunked answers are not read"));
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The requests of one route: their latencies in microseconds, and the unexpected answers by
/// status (0: no answer).
#[derive(Default)]
struct Route {
    latencies: Vec<u32>,
    unexpected: BTreeMap<u16, u64>,
}

/// Every route's figures, and the revoked tokens that were accepted.
#[derive(Default)]
struct Tally {
    routes: BTreeMap<&'static str, Route>,
    revoked_accepted: u64,
}

impl Tally {
    /// Records a request of `route` that took `took` and was answered with `status` (`None`:
    /// not at all) where `expected` was due.
    fn record(&mut self, route: &'static str, took: Duration, status: Option<u16>, expected: u16) {
        let entry = self.routes.entry(route).or_default();
        entry
            .latencies
            .push(took.as_micros().min(u32::MAX as u128) as u32);
        if status != Some(expected) {
            *entry.unexpected.entry(status.unwrap_or(0)).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Tally) {
        for (name, route) in other.routes {
            let entry = self.routes.entry(name).or_default();
            entry.latencies.extend(route.latencies);
            for (status, count) in route.unexpected {
                *entry.unexpected.entry(status).or_default() += count;
            }
        }
        self.revoked_accepted += other.revoked_accepted;
    }
}

/// A small, fast generator: the load's randomness needs no quality beyond spreading requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A signed-in device: its tokens, and when its access token came.
struct Device {
    access: String,
    refresh: String,
    since: Instant,
}

/// Tokens ended by a sign-out, to try again once `settle` has passed.
type Ended = Arc<Mutex<VecDeque<(Instant, String, String)>>>;

/// One client of the service: one connection to each instance, users taken in turn from its
/// share of the population.
struct Client {
    instances: Vec<Connection>,
    rng: Rng,
    tally: Tally,
}

impl Client {
    /// Sends a request to an instance chosen at random, records it under `route`, and returns
    /// the status and body; `None` when the connection failed (recorded as unexpected).
    async fn call(
        &mut self,
        route: &'static str,
        expected: u16,
        request: (&str, &str, Option<&str>, Option<&str>),
    ) -> Option<(u16, String)> {
        let at = self.rng.below(self.instances.len() as u64) as usize;
        let (method, path, bearer, body) = request;
        let started = Instant::now();
        let answer = self.instances[at].send(method, path, bearer, body).await;
        let took = started.elapsed();
        let status = answer.as_ref().map(|(status, _)| *status).ok();
        self.tally.record(route, took, status, expected);
        answer.ok().filter(|(status, _)| *status == expected)
    }

    async fn login(&mut self, user: usize) -> Option<Device> {
        let body = json!({ "username": format!("user{user}"), "password": "bench" }).to_string();
        let (_, body) = self
            .call("login", 200, ("POST", "/login", None, Some(&body)))
            .await?;
        device(&body)
    }

    /// One session of `user`: sign in on each device, read, refresh when due, sign out.
    async fn session(&mut self, user: usize, options: &Options, ended: &Ended, end: Instant) {
        let devices = if self.rng.below(10) < 2 { 2 } else { 1 };
        let mut signed_in = Vec::new();
        for _ in 0..devices {
            signed_in.extend(self.login(user).await);
        }
        if signed_in.is_empty() {
            return;
        }
        let (low, high) = options.reads;
        let reads = low + self.rng.below(high - low);
        for _ in 0..reads {
            // When the day ends, users sign out.
            if Instant::now() >= end {
                break;
            }
            let at = self.rng.below(signed_in.len() as u64) as usize;
            if signed_in[at].since.elapsed() >= options.refresh_after {
                let refresh = signed_in[at].refresh.clone();
                let answer = self
                    .call("refresh", 200, ("POST", "/refresh", Some(&refresh), None))
                    .await;
                match answer.and_then(|(_, body)| device(&body)) {
                    Some(renewed) => signed_in[at] = renewed,
                    None => return,
                }
            }
            let access = signed_in[at].access.clone();
            self.call("read", 200, ("GET", "/local", Some(&access), None))
                .await;
        }
        // A few users sign out everywhere; the rest sign out of each device.
        if self.rng.below(20) == 0 {
            let access = signed_in[0].access.clone();
            (self.call(
                "logout_all",
                200,
                ("POST", "/logout-all", Some(&access), None),
            ))
            .await;
        } else {
            for device in &signed_in {
                let access = device.access.clone();
                (self.call("logout", 200, ("POST", "/logout", Some(&access), None))).await;
            }
        }
        let mut ended = ended.lock().unwrap();
        for device in signed_in {
            ended.push_back((Instant::now(), device.access, device.refresh));
        }
    }

    /// Tries every ended token whose sign-out is at least `settle` old on every instance:
    /// reads with the access token and refreshes with the refresh token must all be refused.
    async fn check_ended(&mut self, ended: &Ended, settle: Duration) {
        loop {
            let next = {
                let mut ended = ended.lock().unwrap();
                match ended.front() {
                    Some((at, _, _)) if at.elapsed() >= settle => ended.pop_front(),
                    _ => None,
                }
            };
            let Some((_, access, refresh)) = next else {
                return;
            };
            for at in 0..self.instances.len() {
                let tries = [("GET", "/local", &access), ("POST", "/refresh", &refresh)];
                for (method, path, token) in tries {
                    let started = Instant::now();
                    let answer = self.instances[at]
                        .send(method, path, Some(token), None)
                        .await;
                    let status = answer.map(|(status, _)| status).ok();
                    self.tally.record("revoked", started.elapsed(), status, 401);
                    self.tally.revoked_accepted += u64::from(status == Some(200));
                }
            }
        }
    }
}

/// The pair in a token response, as a device that has just received it.
fn device(body: &str) -> Option<Device> {
    let pair: Value = serde_json::from_str(body).ok()?;
    Some(Device {
        access: pair["access_token"].as_str()?.to_owned(),
        refresh: pair["refresh_token"].as_str()?.to_owned(),
        since: Instant::now(),
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[at]) / 1000.0
}

fn report(mut tally: Tally, seconds: f64) -> Value {
    let mut routes = serde_json::Map::new();
    let mut requests = 0;
    for (name, route) in &mut tally.routes {
        route.latencies.sort_unstable();
        requests += route.latencies.len();
        routes.insert(
            (*name).to_owned(),
            json!({
                "requests": route.latencies.len(),
                "unexpected": route.unexpected.values().sum::<u64>(),
                "unexpected_by_status": route.unexpected,
                "p50_ms": percentile(&route.latencies, 0.50),
                "p99_ms": percentile(&route.latencies, 0.99),
            }),
        );
    }
    json!({
        "seconds": seconds,
        "requests": requests,
        "requests_per_second": requests as f64 / seconds,
        "revoked_accepted": tally.revoked_accepted,
        "routes": routes,
    })
}

impl Client {
    fn new(options: &Options, seed: u64) -> Self {
        Client {
            instances: options.targets.iter().map(|t| Connection::new(t)).collect(),
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (seed + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)),
            tally: Tally::default(),
        }
    }
}

#[rocket::main]
async fn main() {
    let options = match Options::parse() {
        Ok(options) => Arc::new(options),
        Err(e) => {
            eprintln!("day: {e}");
            std::process::exit(2);
        }
    };
    let ended: Ended = Arc::default();
    let started = Instant::now();
    let end = started + options.duration;
    let mut tasks = Vec::new();
    for id in 0..options.connections {
        let (options, ended) = (options.clone(), ended.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(&options, id as u64);
            // This client's share of the users: no two clients sign the same user in.
            let share: Vec<usize> = (id..options.users).step_by(options.connections).collect();
            while started.elapsed() < options.duration {
                let user = share[client.rng.below(share.len() as u64) as usize];
                client.session(user, &options, &ended, end).await;
            }
            client.tally
        }));
    }
    // One more client tries the ended tokens as they settle, all along.
    let checker = {
        let (options, ended) = (options.clone(), ended.clone());
        tokio::spawn(async move {
            let mut checker = Client::new(&options, u64::MAX - 1);
            while started.elapsed() < options.duration {
                checker.check_ended(&ended, options.settle).await;
                time::sleep(Duration::from_millis(20)).await;
            }
            checker
        })
    };
    let mut tally = Tally::default();
    for task in tasks {
        tally.merge(task.await.expect("a client task"));
    }
    let seconds = started.elapsed().as_secs_f64();
    // What was ended last is tried too, once it has settled.
    let mut checker = checker.await.expect("the checker task");
    time::sleep(options.settle).await;
    checker.check_ended(&ended, options.settle).await;
    tally.merge(checker.tally);
    println!("day {}", report(tally, seconds));
}
