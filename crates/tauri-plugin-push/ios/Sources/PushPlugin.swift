// The iOS half of tauri-plugin-push: registers with APNs and hands the app the device token as
// lowercase hex. Not built in this repository's CI (no Xcode); see the crate README.
//
// The app target needs the "Push Notifications" capability (aps-environment entitlement).

import ObjectiveC
import SwiftRs
import Tauri
import UIKit
import UserNotifications
import WebKit

class PushPlugin: Plugin {
  /// The loaded plugin, for the app-delegate callbacks below.
  static weak var shared: PushPlugin?

  /// `register` calls waiting for APNs to answer (touched on the main thread only).
  private var pending: [Invoke] = []

  public override func load(webview: WKWebView) {
    PushPlugin.shared = self
    AppDelegateHooks.install()
  }

  /// Asks for permission to show notifications, then registers with APNs. Resolves with
  /// `{ token }` (hex); the Rust side adds `platform: "apns"`.
  @objc public func register(_ invoke: Invoke) {
    UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound, .badge]) {
      granted, error in
      if let error = error {
        invoke.reject(error.localizedDescription, code: "permissionError")
        return
      }
      guard granted else {
        invoke.reject("Notifications are turned off for this app.", code: "permissionDenied")
        return
      }
      DispatchQueue.main.async {
        self.pending.append(invoke)
        UIApplication.shared.registerForRemoteNotifications()
      }
    }
  }

  /// Stops receiving pushes (e.g. on sign-out).
  @objc public func unregister(_ invoke: Invoke) {
    DispatchQueue.main.async {
      UIApplication.shared.unregisterForRemoteNotifications()
      invoke.resolve()
    }
  }

  func didRegister(deviceToken: Data) {
    let hex = deviceToken.map { String(format: "%02x", $0) }.joined()
    let waiting = pending
    pending.removeAll()
    for invoke in waiting {
      invoke.resolve(["token": hex])
    }
    // Tokens can change (restore from backup, reinstall); let listeners re-register.
    trigger("token", data: ["token": hex])
  }

  func didFailToRegister(error: Error) {
    let waiting = pending
    pending.removeAll()
    for invoke in waiting {
      invoke.reject(error.localizedDescription, code: "registrationFailed")
    }
  }
}

/// APNs answers through the app delegate, which Tauri owns; add the two callbacks to its class.
enum AppDelegateHooks {
  private static var installed = false

  static func install() {
    guard !installed, let delegate = UIApplication.shared.delegate else { return }
    installed = true
    let cls: AnyClass = type(of: delegate)

    let ok: @convention(block) (AnyObject, UIApplication, Data) -> Void = { _, _, token in
      PushPlugin.shared?.didRegister(deviceToken: token)
    }
    let failed: @convention(block) (AnyObject, UIApplication, NSError) -> Void = { _, _, error in
      PushPlugin.shared?.didFailToRegister(error: error)
    }
    add(
      cls,
      #selector(
        UIApplicationDelegate.application(_:didRegisterForRemoteNotificationsWithDeviceToken:)),
      imp_implementationWithBlock(ok))
    add(
      cls,
      #selector(
        UIApplicationDelegate.application(_:didFailToRegisterForRemoteNotificationsWithError:)),
      imp_implementationWithBlock(failed))
  }

  private static func add(_ cls: AnyClass, _ sel: Selector, _ imp: IMP) {
    // void (id self, SEL _cmd, UIApplication *app, id arg)
    if !class_addMethod(cls, sel, imp, "v@:@@") {
      class_replaceMethod(cls, sel, imp, "v@:@@")
    }
  }
}

@_cdecl("init_plugin_push")
public func initPlugin() -> Plugin {
  return PushPlugin()
}
