# profiles.cmake: the device profiles of profiles/*.profile compiled into the
# library (src/plan/profile_table.c finds them by name), so `coreml:*`
# configurations work wherever the binary runs. The text files stay the one
# source of truth: the generated C file is rebuilt when one of them changes.
file(GLOB FSC_PROFILE_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/profiles/*.profile)
string(REPLACE ";" "|" FSC_PROFILE_FILES_ARG "${FSC_PROFILE_FILES}")
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/generated)
set(FSC_PROFILES_C ${CMAKE_BINARY_DIR}/generated/builtin_profiles.c)
add_custom_command(
  OUTPUT ${FSC_PROFILES_C}
  COMMAND ${CMAKE_COMMAND} -DOUT=${FSC_PROFILES_C} "-DFILES=${FSC_PROFILE_FILES_ARG}"
          -P ${CMAKE_SOURCE_DIR}/tools/embed_profiles.cmake
  DEPENDS ${FSC_PROFILE_FILES} ${CMAKE_SOURCE_DIR}/tools/embed_profiles.cmake
  COMMENT "Embedding device profiles"
  VERBATIM)
list(APPEND FSC_EXTRA_SOURCES ${FSC_PROFILES_C})
