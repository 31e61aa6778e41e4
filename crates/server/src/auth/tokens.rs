//! Access tokens (HS256 JWTs, verified on every request) and refresh tokens (random, stored only
//! as hashes).

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kintara_api::{ProviderType, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use kintara_api::Refusal;

const AUDIENCE: &str = "kintara";
const MIN_SECRET: usize = 32;

/// What an access token says. `sid` names the session, so logout ends the token's validity at
/// once instead of at expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ptype: Option<ProviderType>,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the JWT secret must be at least {MIN_SECRET} bytes")]
    TooShort,
    #[error("cannot read or create the signing key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl JwtKeys {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET {
            return Err(KeyError::TooShort);
        }
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl,
        })
    }

    /// Uses `secret` when given; otherwise a random key kept in `data_dir/jwt-secret` (mode 0600),
    /// created on first start.
    pub fn load(
        secret: Option<&str>,
        data_dir: &Path,
        access_ttl: Duration,
    ) -> Result<Self, KeyError> {
        if let Some(s) = secret {
            return Self::new(s.as_bytes(), access_ttl);
        }
        let path = data_dir.join("jwt-secret");
        let file_err = |source| KeyError::File {
            path: path.display().to_string(),
            source,
        };
        let key = match std::fs::read(&path) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::create_dir_all(data_dir).map_err(file_err)?;
                let key = hex::encode(random_bytes::<32>()).into_bytes();
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(file_err)?;
                f.write_all(&key).map_err(file_err)?;
                key
            }
            Err(e) => return Err(file_err(e)),
        };
        Self::new(&key, access_ttl)
    }

    pub fn issue(
        &self,
        user: Uuid,
        session: Uuid,
        role: Role,
        ptype: Option<ProviderType>,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            sid: session,
            role,
            ptype,
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, audience and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "sub", "aud"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::from(Refusal::TokenExpired {}),
                _ => ApiError::from(Refusal::InvalidToken {}),
            })
    }
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A new refresh token: 256 random bits, base64url.
pub fn new_refresh_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// How a refresh token is stored and looked up.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_forged_and_expired_tokens() {
        let keys = JwtKeys::new(&[7u8; 32], Duration::from_secs(60)).unwrap();
        let other = JwtKeys::new(&[8u8; 32], Duration::from_secs(60)).unwrap();
        let t = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Survivor, None)
            .unwrap();
        assert!(keys.verify(&t).is_ok());
        assert!(
            other.verify(&t).is_err(),
            "a token signed with another key must fail"
        );
        let expired = JwtKeys::new(&[7u8; 32], Duration::ZERO).unwrap();
        let t = expired
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Survivor, None)
            .unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        match keys.verify(&t) {
            Err(ApiError::Refused {
                refusal: kintara_api::Refusal::TokenExpired {},
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        // alg=none and garbage are refused.
        assert!(keys.verify("eyJhbGciOiJub25lIn0.e30.").is_err());
        assert!(JwtKeys::new(b"short", Duration::ZERO).is_err());
    }
}
