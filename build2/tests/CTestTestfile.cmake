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
add_test([=[deploy.manifest]=] "/work/main/tests/deploy/test-manifest.sh")
set_tests_properties([=[deploy.manifest]=] PROPERTIES  TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;95;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[deploy.collect]=] "/work/main/tests/deploy/test-collect.sh" "/work/main/build2/hub-stress-test")
set_tests_properties([=[deploy.collect]=] PROPERTIES  TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;96;add_test;/work/main/tests/CMakeLists.txt;0;")
