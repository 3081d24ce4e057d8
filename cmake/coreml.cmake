# coreml.cmake: Core ML .mlpackage support. Generates C from
# proto/coreml_subset.proto with protoc-c at build time (into the build dir;
# never committed), links the protobuf-c runtime (pkg-config) and cJSON
# (Manifest.json; found by the top-level CMakeLists).
find_program(FSC_PROTOC_C protoc-c REQUIRED)
if(NOT TARGET PkgConfig::PROTOBUF_C)
  pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
endif()

set(FSC_COREML_PROTO ${CMAKE_SOURCE_DIR}/proto/coreml_subset.proto)
set(FSC_COREML_GEN_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${FSC_COREML_GEN_DIR})
add_custom_command(
  OUTPUT ${FSC_COREML_GEN_DIR}/coreml_subset.pb-c.c ${FSC_COREML_GEN_DIR}/coreml_subset.pb-c.h
  COMMAND ${FSC_PROTOC_C} --proto_path=${CMAKE_SOURCE_DIR}/proto --c_out=${FSC_COREML_GEN_DIR}
          ${FSC_COREML_PROTO}
  DEPENDS ${FSC_COREML_PROTO}
  COMMENT "protoc-c coreml_subset.proto"
  VERBATIM)
set_source_files_properties(${FSC_COREML_GEN_DIR}/coreml_subset.pb-c.c PROPERTIES GENERATED TRUE)

list(APPEND FSC_EXTRA_SOURCES ${FSC_COREML_GEN_DIR}/coreml_subset.pb-c.c)
list(APPEND FSC_EXTRA_INCLUDES ${FSC_COREML_GEN_DIR})
list(APPEND FSC_EXTRA_LIBS PkgConfig::PROTOBUF_C)
