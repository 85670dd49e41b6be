#pragma once
// The tool's version, written once: CMake's project(VERSION) sets HUB_STRESS_TEST_VERSION.
#ifndef HUB_STRESS_TEST_VERSION
#error "HUB_STRESS_TEST_VERSION comes from CMakeLists.txt (project VERSION)"
#endif

namespace hubstress {
inline constexpr const char* kToolVersion = HUB_STRESS_TEST_VERSION;
} // namespace hubstress
