#include "core/tftp/file_source.h"

namespace pinet::core::tftp {

const char* toString(FileError e) {
    switch (e) {
        case FileError::NotFound: return "not found";
        case FileError::Escape: return "path leaves the root";
        case FileError::NotRegular: return "not a regular file";
        case FileError::AccessDenied: return "permission denied";
        case FileError::TooLarge: return "too large";
        case FileError::Io: return "I/O error";
    }
    return "?";
}

}  // namespace pinet::core::tftp
