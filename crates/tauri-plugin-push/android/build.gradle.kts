// The Android half of tauri-plugin-push. Built by `cargo tauri android build` (Gradle pulls in the
// `tauri-android` project that tauri-plugin's build step copies to `.tauri/tauri-api`); it is not
// built in this repository's CI, which has no Android SDK.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.kintara.push"
    compileSdk = 36

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }
}

kotlin {
    compilerOptions {
        jvmTarget = JvmTarget.JVM_1_8
    }
}

dependencies {
    // The app module applies the `com.google.gms.google-services` Gradle plugin and ships its
    // `google-services.json`; this library only needs the messaging API.
    implementation(platform("com.google.firebase:firebase-bom:33.7.0"))
    implementation("com.google.firebase:firebase-messaging")
    implementation("androidx.core:core-ktx:1.9.0")
    implementation(project(":tauri-android"))
}
