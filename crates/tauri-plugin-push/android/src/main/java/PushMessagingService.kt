package app.kintara.push

import com.google.firebase.messaging.FirebaseMessagingService

/**
 * FCM calls this when the token rotates. The plugin forwards it as a `token` event; the app then
 * registers the new token with the server (`POST /api/devices/`). Notification messages received
 * while the app is in the background are shown by the system without this service.
 */
class PushMessagingService : FirebaseMessagingService() {
    override fun onNewToken(token: String) {
        PushPlugin.instance?.onNewToken(token)
    }
}
