# smarm as a package: final/'s library is smarm::smarm, the same name whether a project adds smarm
# with add_subdirectory or finds it with find_package(smarm) after `cmake --install`.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# libsmarm.a (or libsmarm.so.0.1: before 1.0, a minor version may break the ABI).
set_target_properties(smarm_final PROPERTIES
  EXPORT_NAME smarm
  OUTPUT_NAME smarm
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
add_library(smarm::smarm ALIAS smarm_final)

if(NOT SMARM_INSTALL)
  return()
endif()

set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/smarm)
install(TARGETS smarm_final EXPORT smarmTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/final/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(EXPORT smarmTargets NAMESPACE smarm:: DESTINATION ${config_dir})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/smarmConfig.cmake.in
  ${PROJECT_BINARY_DIR}/smarmConfig.cmake INSTALL_DESTINATION ${config_dir})
# Before 1.0 a minor version may break the API, so a request for 0.1 accepts 0.1.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/smarmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/smarmConfig.cmake ${PROJECT_BINARY_DIR}/smarmConfigVersion.cmake
  DESTINATION ${config_dir})
unset(config_dir)
