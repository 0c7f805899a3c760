// LeakSanitizer's interface when the build has AddressSanitizer (MTUGUARD_SANITIZE), nothing
// otherwise: MTUGUARD_LSAN says which. GCC announces ASan with __SANITIZE_ADDRESS__, clang with
// __has_feature.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define MTUGUARD_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MTUGUARD_LSAN 1
#endif
#endif
#ifdef MTUGUARD_LSAN
#include <sanitizer/lsan_interface.h>
#endif
