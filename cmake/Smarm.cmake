# Build conventions shared by every stage: warnings, sanitizers, the stage library and the
# test registration that makes each stage keep proving what the earlier ones proved.
include_guard(GLOBAL)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(SMARM_ARCH x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(SMARM_ARCH aarch64)
else()
  message(FATAL_ERROR "smarm has context-switch code for x86_64 and aarch64 only, "
                      "not for '${CMAKE_SYSTEM_PROCESSOR}'")
endif()

# Options smarm's own targets build with and never pass on: warnings (errors in smarm's own
# build, see SMARM_WARNINGS_AS_ERRORS) and the build's sanitizers. A user's code is not ours to
# fail on a warning, so the libraries link this PRIVATE, and the tests and examples link it.
add_library(smarm_options INTERFACE)
target_compile_options(smarm_options INTERFACE
  $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra $<$<BOOL:${SMARM_WARNINGS_AS_ERRORS}>:-Werror>>)
# The scheduler's internal checks (SMARM_CHECK in scheduler.hpp): on wherever the tests are built
# (the dev, clang, asan and aarch64 presets), off, and free, in release and in a user's build.
option(SMARM_CHECKS "Check the scheduler's invariants at run time" ${SMARM_BUILD_TESTS})
if(SMARM_CHECKS)
  target_compile_definitions(smarm_options INTERFACE SMARM_CHECKS=1)
endif()
if(SMARM_SANITIZE)
  target_compile_options(smarm_options INTERFACE
    -fsanitize=${SMARM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(smarm_options INTERFACE -fsanitize=${SMARM_SANITIZE})
endif()

# Stack-clash protection, for smarm and for every program that links it (the libraries export it):
# an actor's stack has a guard zone below it, and a function whose frame is larger than the zone
# could step over it into another actor's stack unless the compiler probes the frame page by page.
# Debian's g++ leaves the probes off and clang never turns them on. g++ probes on x86-64 and
# aarch64; clang 14 only on x86-64 (on aarch64 it ignores the flag with an "unused argument"
# warning), so the flag is given to the compilers that act on it, the user's included.
if(SMARM_ARCH STREQUAL "x86_64")
  set(ids GNU,Clang)
else()
  set(ids GNU)
endif()
set(SMARM_STACK_CLASH_PROTECTION
  "$<$<OR:$<COMPILE_LANG_AND_ID:C,${ids}>,$<COMPILE_LANG_AND_ID:CXX,${ids}>>:-fstack-clash-protection>")
unset(ids)

# The short name of a stage directory: 01_context -> s01, final -> final.
function(smarm_short_name dir out)
  if(dir STREQUAL "final")
    set(${out} final PARENT_SCOPE)
  else()
    string(SUBSTRING "${dir}" 0 2 num)
    set(${out} s${num} PARENT_SCOPE)
  endif()
endfunction()

# Called from a stage's own CMakeLists.txt. The target is named after the directory, so the
# file is the same in every stage and in final/, and a stage diff shows only real changes.
#   smarm_stage_library(SOURCES ... [ARCH_SOURCES_x86_64 ...] [ARCH_SOURCES_aarch64 ...])
# Defines smarm_<dir> and the variable SMARM_STAGE_TARGET in the caller's scope. The library is
# static unless BUILD_SHARED_LIBS is set. What it exports to the code that links it: its headers,
# C++20 and stack-clash protection; nothing else of smarm's build.
function(smarm_stage_library)
  cmake_parse_arguments(arg "" "" "SOURCES;ARCH_SOURCES_x86_64;ARCH_SOURCES_aarch64" ${ARGN})
  get_filename_component(dir ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set(target smarm_${dir})
  add_library(${target} ${arg_SOURCES} ${arg_ARCH_SOURCES_${SMARM_ARCH}})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PUBLIC ${SMARM_STACK_CLASH_PROTECTION})
  # Code in a shared library (or PIC code bound for one) reaches a thread_local through a call to
  # __tls_get_addr unless told that the library is loaded with the program, not dlopen'ed late:
  # initial-exec makes every access of the runtime's per-thread state one load off the thread
  # pointer.
  set(shared $<STREQUAL:$<TARGET_PROPERTY:TYPE>,SHARED_LIBRARY>)
  set(pic $<OR:${shared},$<BOOL:$<TARGET_PROPERTY:POSITION_INDEPENDENT_CODE>>>)
  target_compile_options(${target} PRIVATE
    $<$<AND:$<COMPILE_LANGUAGE:C,CXX>,${pic}>:-ftls-model=initial-exec>)
  # BUILD_INTERFACE: the options stay out of the installed package's link interface.
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:smarm_options>)
  set(SMARM_STAGE_TARGET ${target} PARENT_SCOPE)
endfunction()

# An example program of the stage in the current directory, linked to that stage's library.
# Every example is collected in the smarm_examples target list, run by tools/setup. Examples are
# built only when SMARM_BUILD_EXAMPLES is on (by default, when smarm is the top-level project).
function(smarm_stage_example name source)
  if(NOT SMARM_BUILD_EXAMPLES)
    return()
  endif()
  get_filename_component(dir ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  smarm_short_name(${dir} short)
  set(exe example_${short}_${name})
  add_executable(${exe} ${source})
  target_link_libraries(${exe} PRIVATE smarm_${dir} smarm_options)
  set_property(GLOBAL APPEND PROPERTY SMARM_EXAMPLES ${exe})
endfunction()

# smarm_stages_from(<from> <out> [RETIRED_AT <stage> BECAUSE <reason> TESTS <what>]): the stages
# a test registered FROM <from> runs on, unless a later stage retires it.
include(SmarmStages)

# The ctest label of a stage directory: 01_context -> stage01, final -> final.
function(smarm_stage_label dir out)
  smarm_short_name(${dir} short)
  string(REPLACE "s" "stage" label ${short})  # "final" has no "s" to replace
  set(${out} ${label} PARENT_SCOPE)
endfunction()

# Registers one test program for the stage that introduces its mechanism, every later stage and
# final/:
#   smarm_add_test(<name> FROM <stage dir> [INTERNAL] SOURCES ... [ARCH_SOURCES_x86_64 ...]
#                  [ARCH_SOURCES_aarch64 ...] [RETIRED_AT <stage dir> BECAUSE "<reason>"]
#                  [RESOURCE_LOCK <name>])
# Each copy links that stage's library; its tests carry the labels stageNN (or final) and
# <name>, so `ctest -L stage01` runs what stage 01 must pass. INTERNAL tests also see the stage's
# private headers (its src/), to test the runtime's internal interfaces. RETIRED_AT: a later stage
# changes on purpose the behaviour the test pins (FIFO order once there are several cores, say);
# the test then runs on the stages before that one only, and the reason is printed at configure
# time and listed in build/<preset>/retired_tests.txt (see cmake/SmarmStages.cmake).
# RESOURCE_LOCK <name>: ctest never runs two tests holding the same lock at once (the million-actor
# tests, which under the sanitizers need 12 GB each, of the 23 GB CI's machine has).
# SMARM_TEST_OPTIMIZE: the optimisation of the test programs' own code, when it is not the build
# type's. The sanitizer build keeps the runtime at -O2 and compiles the tests at -O0: a test file
# instantiates hundreds of GoogleTest assertions, and instrumenting them at -O2 took most of CI's time.
set(SMARM_TEST_OPTIMIZE "" CACHE STRING "Optimisation flags for the test programs, e.g. -O0")
function(smarm_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "INTERNAL" "FROM;RETIRED_AT;BECAUSE;RESOURCE_LOCK"
                        "SOURCES;ARCH_SOURCES_x86_64;ARCH_SOURCES_aarch64")
  if(arg_UNPARSED_ARGUMENTS OR arg_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "smarm_add_test(${name}): unexpected arguments or keywords without a "
                        "value: ${arg_UNPARSED_ARGUMENTS} ${arg_KEYWORDS_MISSING_VALUES}")
  endif()
  smarm_stages_from("${arg_FROM}" stages RETIRED_AT "${arg_RETIRED_AT}" BECAUSE "${arg_BECAUSE}"
                    TESTS "${name}")
  foreach(stage IN LISTS stages)
    smarm_short_name(${stage} short)
    smarm_stage_label(${stage} label)
    set(exe test_${name}_${short})
    add_executable(${exe} ${arg_SOURCES} ${arg_ARCH_SOURCES_${SMARM_ARCH}})
    target_link_libraries(${exe} PRIVATE smarm_${stage} smarm_options GTest::gtest_main)
    target_compile_options(${exe} PRIVATE ${SMARM_TEST_OPTIMIZE})
    if(arg_INTERNAL)
      target_include_directories(${exe} PRIVATE $<TARGET_PROPERTY:smarm_${stage},SOURCE_DIR>/src)
    endif()
    gtest_discover_tests(${exe}
      TEST_PREFIX "${short}."
      TEST_LIST ${exe}_TESTS
      DISCOVERY_MODE PRE_TEST)
    # The labels are set by a script ctest reads after the discovery's: gtest_discover_tests
    # splits a list given as PROPERTIES LABELS into separate arguments (CMake 3.25), so the second
    # label would become the name of a property and the test would carry the first one only.
    set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${exe}_labels.cmake)
    set(lock "")
    if(arg_RESOURCE_LOCK)
      string(CONCAT lock "  set_tests_properties(\${${exe}_TESTS} PROPERTIES RESOURCE_LOCK "
                         "${arg_RESOURCE_LOCK})\n")
    endif()
    file(WRITE ${labels_file}
      "if(${exe}_TESTS)\n"
      "  set_tests_properties(\${${exe}_TESTS} PROPERTIES LABELS \"${label};${name}\")\n"
      "${lock}"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
  endforeach()
endfunction()

# Runs an already registered test program (see smarm_add_test) under Valgrind for the stage
# <FROM>, every later stage and final/: the runtime registers its stacks with Valgrind, which
# must then report no error and never suspect the program of "switching stacks".
#   smarm_add_valgrind_test(<name> FROM <stage dir> FILTER <gtest filter>
#                           [RETIRED_AT <stage dir> BECAUSE "<reason>"])
# RETIRED_AT as for smarm_add_test; a retired test program takes its Valgrind run with it.
function(smarm_add_valgrind_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "FROM;FILTER;RETIRED_AT;BECAUSE" "")
  if(arg_UNPARSED_ARGUMENTS OR arg_KEYWORDS_MISSING_VALUES)
    message(FATAL_ERROR "smarm_add_valgrind_test(${name}): unexpected arguments or keywords "
                        "without a value: ${arg_UNPARSED_ARGUMENTS} ${arg_KEYWORDS_MISSING_VALUES}")
  endif()
  smarm_stages_from("${arg_FROM}" stages RETIRED_AT "${arg_RETIRED_AT}" BECAUSE "${arg_BECAUSE}"
                    TESTS "valgrind.${name}")
  find_program(SMARM_VALGRIND valgrind)
  if(NOT SMARM_VALGRIND OR SMARM_SANITIZE OR CMAKE_CROSSCOMPILING)
    # Valgrind cannot run sanitized or foreign binaries; the label check must not expect them.
    set_property(GLOBAL APPEND PROPERTY SMARM_ABSENT_LABELS valgrind)
    return()
  endif()
  foreach(stage IN LISTS stages)
    smarm_short_name(${stage} short)
    smarm_stage_label(${stage} label)
    if(NOT TARGET test_${name}_${short})
      message(FATAL_ERROR "smarm_add_valgrind_test(${name}): test_${name}_${short} is not built "
                          "(retired?); retire the Valgrind run at the same stage")
    endif()
    add_test(NAME ${short}.valgrind.${name}
             COMMAND ${SMARM_VALGRIND} --error-exitcode=1 --quiet
                     $<TARGET_FILE:test_${name}_${short}> --gtest_filter=${arg_FILTER})
    set_tests_properties(${short}.valgrind.${name} PROPERTIES
      LABELS "${label};${name};valgrind" FAIL_REGULAR_EXPRESSION "switching stacks")
  endforeach()
endfunction()
