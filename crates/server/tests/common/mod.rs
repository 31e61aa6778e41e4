//! The harness of the HTTP tests: a real server on a loopback port over a temporary SQLite
//! database, a plain `reqwest` client, and helpers that read like the steps of a user's story.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Days, NaiveDate, Utc};
use kintara_api::{AuthResponse, Incident, User};
use kintara_server::{Config, Running};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "kintara-demo";
/// The password every account registered by these tests uses.
pub const PASSWORD: &str = "correct horse battery";

/// One server with its own data directory; both go away when this is dropped.
pub struct TestServer {
    pub running: Running,
    pub http: Client,
    _dir: TempDir,
}

impl TestServer {
    /// A server with no accounts.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with the demo accounts (survivor, dispatcher, one provider per type).
    pub async fn demo() -> Self {
        Self::start_with(|c| c.demo = true).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = kintara_server::testing::config(dir.path()).await;
        adjust(&mut config);
        Self::with_config(config, dir).await
    }

    /// A server on exactly `config` (whose data directory is `dir`): for several instances
    /// sharing one database.
    pub async fn with_config(config: Config, dir: TempDir) -> Self {
        let running = kintara_server::start(config).await.expect("server starts");
        // No proxy: a proxy from the environment must never see these requests.
        // Idle connections are dropped before the server's keep-alive ends (30 s), so none is
        // reused just as the server closes it.
        let http = Client::builder()
            .no_proxy()
            .pool_idle_timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("http client");
        TestServer {
            running,
            http,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.url(), path)
    }

    /// A request builder for anything the helpers below do not cover (raw bodies, odd headers).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Sends a request, with a bearer token and a JSON body when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = self.request(method, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Resp::from(req).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn register(&self, body: &Value) -> Resp {
        self.post("/api/auth/register/", None, body).await
    }

    /// Registers a survivor named Amina Otieno with `email` and [`PASSWORD`].
    pub async fn register_survivor(&self, email: &str) -> Account {
        let resp = self.register(&survivor_registration(email)).await;
        resp.expect(201);
        Account::from_auth(resp.json_as())
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/login/",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Signs in from the loopback address `from` (`127.0.0.2`, ...): another client address than
    /// the harness's own `127.0.0.1`, for what is counted per address.
    pub async fn login_from(&self, from: &str, email: &str, password: &str) -> Resp {
        let client = Client::builder()
            .no_proxy()
            .local_address(from.parse::<std::net::IpAddr>().expect("an address"))
            .build()
            .expect("http client");
        let body = json!({"email": email, "password": password});
        Resp::from(client.post(self.url("/api/auth/login/")).json(&body)).await
    }

    pub async fn login_ok(&self, email: &str, password: &str) -> Account {
        let resp = self.login(email, password).await;
        resp.expect(200);
        Account::from_auth(resp.json_as())
    }

    /// Signs in to a demo account (`survivor`, `dispatcher`, `healthcare`, ...).
    pub async fn demo_login(&self, who: &str) -> Account {
        self.login_ok(&format!("{who}@kintara.test"), DEMO_PASSWORD)
            .await
    }

    pub async fn refresh(&self, refresh: &str) -> Resp {
        self.post("/api/auth/refresh/", None, &json!({ "refresh": refresh }))
            .await
    }

    pub async fn me(&self, access: &str) -> Resp {
        self.get("/api/auth/me/", Some(access)).await
    }

    /// Files `report` as the holder of `access` and returns the created incident.
    pub async fn create_report(&self, access: &str, report: &Value) -> Incident {
        let resp = self.post("/api/incidents/", Some(access), report).await;
        resp.expect(201);
        resp.json_as()
    }

    /// The incidents list as `access` sees it.
    pub async fn incidents(&self, access: &str) -> Vec<Incident> {
        let resp = self.get("/api/incidents/", Some(access)).await;
        resp.expect(200);
        resp.json_as()
    }

    /// `PATCH` with a JSON body.
    #[allow(dead_code)]
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// `PUT` with a JSON body.
    #[allow(dead_code)]
    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    #[allow(dead_code)]
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Runs one statement straight on the server's database (through its write pool, so it
    /// queues behind requests like any writer), binding `binds` as text to `$1, $2, ...`.
    /// Returns the rows affected. For setting up what the API cannot (roles, case loads).
    #[allow(dead_code)]
    pub async fn exec(&self, sql: &str, binds: &[&str]) -> u64 {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b.to_string());
        }
        q.execute(&self.running.state.db.write)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected()
    }

    /// Registers a provider of `provider_type` with `email` and [`PASSWORD`], awaiting
    /// verification as every self-registered provider does.
    #[allow(dead_code)]
    pub async fn register_unverified_provider(&self, email: &str, provider_type: &str) -> Account {
        let mut body = survivor_registration(email);
        body["role"] = json!("provider");
        body["provider_type"] = json!(provider_type);
        let resp = self.register(&body).await;
        resp.expect(201);
        Account::from_auth(resp.json_as())
    }

    /// A provider of `provider_type` ready for cases: registered, then verified in the database
    /// (the admin suite verifies through the API).
    #[allow(dead_code)]
    pub async fn register_provider(&self, email: &str, provider_type: &str) -> Account {
        let mut account = self
            .register_unverified_provider(email, provider_type)
            .await;
        let changed = self
            .exec(
                "UPDATE users SET account_state = 'active', verified_at = created_at WHERE id = $1",
                &[&account.user.id.to_string()],
            )
            .await;
        assert_eq!(changed, 1);
        let me = self.me(&account.access).await;
        me.expect(200);
        account.user = me.json_as::<kintara_api::MeResponse>().user;
        account
    }

    /// A second dispatcher: dispatchers are not self-registered, so this registers a survivor
    /// and promotes the account in the database (roles are read from the database on every
    /// request, so the token works as a dispatcher's at once).
    #[allow(dead_code)]
    pub async fn register_dispatcher(&self, email: &str) -> Account {
        let mut account = self.register_survivor(email).await;
        let id = account.user.id.to_string();
        let changed = self
            .exec("UPDATE users SET role = 'dispatcher' WHERE id = $1", &[&id])
            .await;
        assert_eq!(changed, 1);
        let me = self.me(&account.access).await;
        me.expect(200);
        account.user = me.json_as::<kintara_api::MeResponse>().user;
        assert_eq!(account.user.role, kintara_api::Role::Dispatcher);
        account
    }

    /// Rows in a table, read straight from the server's database: proof that a refused request
    /// stored nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.running.state.db.read)
            .await
            .expect("count rows")
    }
}

/// A signed-in user: who they are and their token pair.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub access: String,
    pub refresh: String,
}

impl Account {
    pub fn from_auth(auth: AuthResponse) -> Self {
        assert!(auth.success);
        Account {
            user: auth.user,
            access: auth.tokens.access,
            refresh: auth.tokens.refresh,
        }
    }
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub async fn from(req: RequestBuilder) -> Resp {
        let resp = req.send().await.expect("the server answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("a readable body");
        Resp {
            status,
            headers,
            text,
        }
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    #[track_caller]
    pub fn json_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "body does not match {} ({e}): {}",
                std::any::type_name::<T>(),
                self.text
            )
        })
    }

    /// Asserts the error envelope: exactly `success`, `message`, `code` and `errors`, with
    /// `success: false`, a sentence to show, and the given status and code. Returns the field
    /// errors.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> BTreeMap<String, Vec<String>> {
        self.expect(status);
        let body = self.json();
        let obj = body
            .as_object()
            .unwrap_or_else(|| panic!("envelope is not an object: {body}"));
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["code", "errors", "message", "params", "success"],
            "envelope keys: {body}"
        );
        assert_eq!(body["success"], json!(false), "{body}");
        // Every refusal is one the API declares, carried by its own status.
        let envelope: kintara_api::ErrorEnvelope = serde_json::from_value(body.clone())
            .unwrap_or_else(|e| panic!("not a declared refusal ({e}): {body}"));
        assert_eq!(envelope.refusal.status(), status, "{body}");
        if code != ANY {
            assert_eq!(body["code"], json!(code), "{body}");
        }
        let message = body["message"].as_str().expect("message is a string");
        assert!(!message.trim().is_empty(), "empty message: {body}");
        let errors: BTreeMap<String, Vec<String>> = envelope
            .errors
            .into_iter()
            .map(|(field, list)| (field, list.into_iter().map(|m| m.message).collect()))
            .collect();
        for (field, messages) in &errors {
            assert!(!messages.is_empty(), "no message for {field}: {body}");
        }
        errors
    }

    /// Asserts a 422 `validation_failed` whose field errors name exactly `fields`.
    #[track_caller]
    pub fn expect_invalid(&self, fields: &[&str]) -> BTreeMap<String, Vec<String>> {
        let errors = self.expect_error(422, kintara_api::codes::VALIDATION_FAILED);
        let keys: Vec<&str> = errors.keys().map(String::as_str).collect();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "field errors: {errors:?}");
        errors
    }
}

/// A complete, valid survivor registration.
pub fn survivor_registration(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "first_name": "Amina",
        "last_name": "Otieno",
        "role": "survivor",
    })
}

/// A complete, valid report as the app's wizard sends it.
pub fn report(description: &str) -> Value {
    json!({
        "type": "physical",
        "incident_date": days_ago(1).to_string(),
        "incident_time": "21:30:00",
        "description": description,
        "location": {"address": "Kibera, Nairobi", "description": "near the market"},
        "support_services": ["medical", "counseling"],
    })
}

pub fn days_ago(n: u64) -> NaiveDate {
    Utc::now().date_naive() - Days::new(n)
}

/// The decoded payload of a JWT, without checking anything.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("JSON payload")
}

/// `token` with its payload replaced by `claims`, keeping the original header and signature.
pub fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A frame's `data` as its JSON, for assertions about what went over the wire.
#[allow(dead_code)] // not every suite reads frames
pub trait FrameData {
    fn data(&self) -> serde_json::Value;
}

impl FrameData for kintara_api::EventFrame {
    fn data(&self) -> serde_json::Value {
        self.event.data_json()
    }
}

/// For `expect_error`: any refusal the API declares for the status (403s and 409s each have
/// several codes, one per reason).
pub const ANY: &str = "*";
