# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build2/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build2/tests/unit_tests[1]_include.cmake")
include("/work/main/build2/tests/fault_tests[1]_include.cmake")
include("/work/main/build2/tests/engine_unit_tests[1]_include.cmake")
include("/work/main/build2/tests/engine_fault_tests[1]_include.cmake")
include("/work/main/build2/tests/integration_tests[1]_include.cmake")
include("/work/main/build2/tests/integration_tests[2]_include.cmake")
add_test([=[hub52.root]=] "/work/main/tests/hub/local-hub.sh" "prepare")
set_tests_properties([=[hub52.root]=] PROPERTIES  ENVIRONMENT "HUB_STRESS_TEST_HUB=5.2" FIXTURES_SETUP "hub52" LABELS "hub52" TIMEOUT "2400" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;122;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[deploy.manifest]=] "/work/main/tests/deploy/test-manifest.sh")
set_tests_properties([=[deploy.manifest]=] PROPERTIES  TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;131;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[deploy.collect]=] "/work/main/tests/deploy/test-collect.sh" "/work/main/build2/hub-stress-test")
set_tests_properties([=[deploy.collect]=] PROPERTIES  TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;132;add_test;/work/main/tests/CMakeLists.txt;0;")
