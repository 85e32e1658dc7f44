// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LibZip} from "solady/src/utils/LibZip.sol";

/// @title FlzBench: what reading a data contract costs with and without FastLZ decompression (bench only).
/// @notice bench/onchain_compression.py stores FastLZ-compressed chunks of a collection's data stream with the
/// renderer's own `store` and calls both functions on each: the difference is what the renderer would pay per chunk
/// it had to decompress in `tokenURI`. Not deployed by punkgen; compiled by bench/onchain_flz.mjs.
contract FlzBench {
    /// @dev The data contract's chunk, past SSTORE2's leading STOP byte.
    function _chunk(address pointer) private view returns (bytes memory data) {
        uint256 size = pointer.code.length - 1;
        data = new bytes(size);
        assembly {
            extcodecopy(pointer, add(data, 0x20), 1, size)
        }
    }

    function read(address pointer) external view returns (uint256) {
        return _chunk(pointer).length;
    }

    function readAndDecompress(address pointer) external view returns (uint256) {
        return LibZip.flzDecompress(_chunk(pointer)).length;
    }
}
