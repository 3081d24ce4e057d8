# coreml.cmake: Core ML .mlpackage support. The Model protobuf is read and
# written through protobuf-c; proto/coreml_subset.proto is compiled by protoc-c
# at build time into the build tree. Manifest.json is parsed with cJSON.
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
find_program(PROTOC_C protoc-c REQUIRED)

set(FSC_COREML_PROTO ${CMAKE_SOURCE_DIR}/proto/coreml_subset.proto)
set(FSC_COREML_GEN ${CMAKE_BINARY_DIR}/proto)
file(MAKE_DIRECTORY ${FSC_COREML_GEN})
add_custom_command(
  OUTPUT ${FSC_COREML_GEN}/coreml_subset.pb-c.c ${FSC_COREML_GEN}/coreml_subset.pb-c.h
  COMMAND ${PROTOC_C} --c_out=${FSC_COREML_GEN} -I${CMAKE_SOURCE_DIR}/proto ${FSC_COREML_PROTO}
  DEPENDS ${FSC_COREML_PROTO}
  COMMENT "protoc-c coreml_subset.proto"
  VERBATIM)

list(APPEND FSC_EXTRA_SOURCES ${FSC_COREML_GEN}/coreml_subset.pb-c.c)
list(APPEND FSC_EXTRA_INCLUDES ${FSC_COREML_GEN})
list(APPEND FSC_EXTRA_LIBS PkgConfig::PROTOBUF_C PkgConfig::CJSON)
list(APPEND FSC_EXTRA_DEFS FSC_HAVE_COREML=1)
