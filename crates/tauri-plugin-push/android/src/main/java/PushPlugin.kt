// The Android half of tauri-plugin-push: hands the app this device's FCM registration token.
// Not built in this repository's CI (no Android SDK); see the crate README.

package app.kintara.push

import android.app.Activity
import app.tauri.annotation.Command
import app.tauri.annotation.TauriPlugin
import app.tauri.plugin.Invoke
import app.tauri.plugin.JSObject
import app.tauri.plugin.Plugin
import com.google.firebase.messaging.FirebaseMessaging

@TauriPlugin
class PushPlugin(private val activity: Activity) : Plugin(activity) {
    companion object {
        /** The loaded plugin, so [PushMessagingService] can report token rotations. */
        @Volatile
        var instance: PushPlugin? = null
    }

    override fun load(webView: android.webkit.WebView) {
        super.load(webView)
        instance = this
    }

    /** Resolves with `{ token }`; the Rust side adds `platform: "fcm"`. */
    @Command
    fun register(invoke: Invoke) {
        FirebaseMessaging.getInstance().token.addOnCompleteListener { task ->
            if (task.isSuccessful && task.result != null) {
                val ret = JSObject()
                ret.put("token", task.result)
                invoke.resolve(ret)
            } else {
                invoke.reject(
                    task.exception?.message ?: "Firebase Cloud Messaging gave no token",
                    "registrationFailed",
                )
            }
        }
    }

    /** Deletes the token so this device stops receiving pushes (e.g. on sign-out). */
    @Command
    fun unregister(invoke: Invoke) {
        FirebaseMessaging.getInstance().deleteToken().addOnCompleteListener { task ->
            if (task.isSuccessful) {
                invoke.resolve()
            } else {
                invoke.reject(task.exception?.message ?: "The FCM token could not be deleted")
            }
        }
    }

    /** Emits `token` to plugin listeners when FCM rotates the token. */
    fun onNewToken(token: String) {
        val data = JSObject()
        data.put("token", token)
        trigger("token", data)
    }
}
