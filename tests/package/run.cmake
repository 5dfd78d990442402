# run.cmake — builds the outside project in consumer/ against smarm and runs it, one way per MODE:
#   install       `cmake --install` of this build into a prefix, then find_package(smarm)
#   subdirectory  add_subdirectory of smarm's source tree, static library
#   shared        the same with BUILD_SHARED_LIBS=ON; the library must reach its thread_locals
#                 without __tls_get_addr
# Usage: cmake -DMODE=<mode> -DSETTINGS=<settings.cmake written by CMakeLists.txt> -P run.cmake
cmake_minimum_required(VERSION 3.25)
include(${SETTINGS})

set(work ${WORK_DIR}/${MODE})
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})

function(fail)
  string(JOIN "" message ${ARGN})
  message(FATAL_ERROR "package test '${MODE}': ${message}")
endfunction()

# Runs a command, its output shown in the test's log; fails the test when the command fails.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(JOIN " " command ${ARGN})
    fail("`${command}` failed (${rc})")
  endif()
endfunction()

# The outside project is configured as its user would, with this build's toolchain and flags (an
# installed sanitized smarm needs sanitized code: its classes' layout depends on it).
set(configure
  ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -G ${GENERATOR}
  -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
  -DCMAKE_C_COMPILER=${C_COMPILER}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  "-DCMAKE_C_FLAGS=${C_FLAGS}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
if(TOOLCHAIN_FILE)
  list(APPEND configure -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE})
endif()

if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} --install ${SMARM_BINARY_DIR} --prefix ${work}/prefix)
  file(GLOB_RECURSE config LIST_DIRECTORIES false ${work}/prefix/*/smarmConfig.cmake)
  file(GLOB_RECURSE config_version LIST_DIRECTORIES false
       ${work}/prefix/*/smarmConfigVersion.cmake)
  if(NOT config OR NOT config_version OR NOT EXISTS ${work}/prefix/include/smarm/actor.hpp)
    fail("the install lacks smarmConfig.cmake, smarmConfigVersion.cmake or the headers")
  endif()
  get_filename_component(config_dir ${config} DIRECTORY)
  if(TOOLCHAIN_FILE)
    # The cross toolchain confines package searches to its sysroot; name the package directly.
    list(APPEND configure -Dsmarm_DIR=${config_dir})
  else()
    list(APPEND configure -DCMAKE_PREFIX_PATH=${work}/prefix)
  endif()
  # The version file must turn down a version smarm is not compatible with.
  execute_process(COMMAND ${configure} -B ${work}/wrong-version -DSMARM_REQUIRED_VERSION=99.0
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "requested version \"99\\.0\"")
    fail("find_package(smarm 99.0) did not fail on the version: ${err}")
  endif()
  list(APPEND configure -DSMARM_REQUIRED_VERSION=${SMARM_VERSION})
elseif(MODE STREQUAL "subdirectory")
  list(APPEND configure -DSMARM_SOURCE=${SMARM_SOURCE_DIR})
elseif(MODE STREQUAL "shared")
  list(APPEND configure -DSMARM_SOURCE=${SMARM_SOURCE_DIR} -DBUILD_SHARED_LIBS=ON)
else()
  fail("unknown MODE")
endif()

run(${configure} -B ${work}/build)
run(${CMAKE_COMMAND} --build ${work}/build)
execute_process(COMMAND ${EMULATOR} ${work}/build/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("the consumer program failed (${rc})")
endif()

# What was compiled, and how: the user's code gets stack-clash protection and none of smarm's
# warning options; added with add_subdirectory, smarm builds final/ and nothing else.
file(READ ${work}/build/compile_commands.json commands)
string(JSON count LENGTH "${commands}")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON file GET "${commands}" ${i} file)
  string(JSON command GET "${commands}" ${i} command)
  file(RELATIVE_PATH relative ${SMARM_SOURCE_DIR} ${file})
  if(relative MATCHES "^tests/package/consumer/")
    if(EXPECT_STACK_CLASH AND NOT command MATCHES " -fstack-clash-protection( |$)")
      fail("the consumer is compiled without -fstack-clash-protection: ${command}")
    endif()
    if(command MATCHES " -W(error|all|extra)( |$)")
      fail("smarm's warning options leaked into the consumer: ${command}")
    endif()
  elseif(NOT relative MATCHES "^final/src/")
    fail("built ${relative}, which a user of smarm does not need")
  elseif(command MATCHES " -Werror( |$)")
    fail("smarm's warnings are errors in a user's build: ${command}")
  endif()
endforeach()

if(MODE STREQUAL "shared")
  file(GLOB library ${work}/build/smarm/final/libsmarm.so.*.*.*)
  if(NOT library)
    fail("no shared library libsmarm.so was built")
  endif()
  # Initial-exec leaves thread-pointer offsets (TPOFF / TPREL) for the loader to fill, and no
  # dynamic TLS: no module ids (DTPMOD), no descriptors (TLSDESC), no calls to __tls_get_addr.
  execute_process(COMMAND ${OBJDUMP} -R ${library} OUTPUT_VARIABLE relocations
                  COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${OBJDUMP} -d ${library} OUTPUT_VARIABLE code
                  COMMAND_ERROR_IS_FATAL ANY)
  if(relocations MATCHES "DTPMOD|DTPOFF|DTPREL|TLSDESC" OR code MATCHES "__tls_get_addr")
    fail("libsmarm.so reaches thread_locals through dynamic TLS:\n${relocations}")
  endif()
  if(NOT relocations MATCHES "TPOFF|TPREL")
    fail("libsmarm.so has no initial-exec TLS relocation; are its thread_locals gone?")
  endif()
endif()
message(STATUS "package test '${MODE}': passed")
