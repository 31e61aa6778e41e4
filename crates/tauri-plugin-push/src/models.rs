use serde::{Deserialize, Serialize};

/// Which push service a token belongs to. Serialized as `"fcm"` / `"apns"`, the same words the
/// server's `PushKind` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service (iOS).
    Apns,
}

/// This device's push token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushToken {
    /// The FCM registration token, or the APNs device token as lowercase hex.
    pub token: String,
    pub platform: PushPlatform,
}
