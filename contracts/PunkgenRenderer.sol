// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Base64} from "solady/src/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title PunkgenRenderer: a punkgen collection whose art and metadata live entirely on chain.
/// @notice One generic contract for every collection: `punkgen export --onchain` writes the data and the
/// constructor arguments; docs/onchain.md ("The renderer contract") describes the byte layout it reads.
/// @dev The data is one logical byte stream cut into SSTORE2-style data contracts (runtime code = a STOP byte
/// then the chunk, so the chunk can never be called), written by `store` before `seal`. Items may cross chunks.
contract PunkgenRenderer is ERC721, Ownable {
    using Strings for uint256;

    /// @notice Where each table starts in the data stream, and the JSON pieces around the computed parts.
    struct Layout {
        uint256 firstTokenId;
        uint256 supply; // N
        uint256 traitsPerToken; // bytes per token record
        bytes32 provenance;
        uint256 paletteStart; // 3 bytes (RGB) per colour; colour 0 is transparent
        uint256 imageTableStart; // 12 bytes per image: uint32 rle start, uint16 rle length, uint32 attr start, uint16 attr length
        uint256 tokensStart; // traitsPerToken bytes per token, in token order
        uint256[] traitBases; // per trait, the image index of its first layer
        uint256 wholeBase; // the image index of the first token stored whole
        string[4] tokenJson; // JSON = [0] id [1] image-data-URI [2] attributes [3]
        string contractJson; // the ERC-7572 contract document
    }

    uint256 public immutable FIRST_TOKEN_ID;
    uint256 public immutable N;
    uint256 public immutable TRAITS_PER_TOKEN;
    bytes32 public immutable PROVENANCE;
    uint256 private immutable PALETTE_START;
    uint256 private immutable IMAGE_TABLE_START;
    uint256 private immutable TOKENS_START;
    uint256 private immutable WHOLE_BASE;

    uint256[] private _traitBases;
    string[4] private _tokenJson;
    string private _contractJson;

    address[] public pointers; // the data contracts, in stream order
    uint256[] private _ends; // the stream offset just past each data contract's chunk
    bool public isSealed;
    uint256 public minted;

    error Sealed();
    error NotSealed();
    error DataTooLarge();
    error WriteFailed();
    error OutOfData();
    error SupplyExceeded();
    error NoSuchToken();

    constructor(string memory name_, string memory symbol_, Layout memory layout) ERC721(name_, symbol_) Ownable(msg.sender) {
        FIRST_TOKEN_ID = layout.firstTokenId;
        N = layout.supply;
        TRAITS_PER_TOKEN = layout.traitsPerToken;
        PROVENANCE = layout.provenance;
        PALETTE_START = layout.paletteStart;
        IMAGE_TABLE_START = layout.imageTableStart;
        TOKENS_START = layout.tokensStart;
        WHOLE_BASE = layout.wholeBase;
        _traitBases = layout.traitBases;
        _tokenJson = layout.tokenJson;
        _contractJson = layout.contractJson;
    }

    // ---- data (SSTORE2) ----

    /// @notice Append the next chunk of the data stream as a new data contract (owner only, before `seal`).
    function store(bytes calldata chunk) external onlyOwner returns (address pointer) {
        if (isSealed) revert Sealed();
        if (chunk.length > 24575) revert DataTooLarge(); // EIP-170 less the STOP byte
        // creation code: copy the runtime (STOP + chunk) that follows this 12-byte prefix and return it
        bytes memory code = abi.encodePacked(
            hex"61", uint16(chunk.length + 1), hex"80600c6000396000f3", hex"00", chunk
        );
        assembly {
            pointer := create(0, add(code, 0x20), mload(code))
        }
        if (pointer == address(0)) revert WriteFailed();
        uint256 start = _ends.length == 0 ? 0 : _ends[_ends.length - 1];
        pointers.push(pointer);
        _ends.push(start + chunk.length);
    }

    /// @notice Freeze the data: no `store` after this, and minting may begin.
    function seal() external onlyOwner {
        isSealed = true;
    }

    /// @dev `length` bytes of the data stream from `start`, across data contracts where needed.
    function _read(uint256 start, uint256 length) internal view returns (bytes memory out) {
        out = new bytes(length);
        uint256 done = 0;
        uint256 chunkStart = 0;
        for (uint256 p = 0; p < _ends.length && done < length; p++) {
            uint256 end = _ends[p];
            uint256 from = start + done;
            if (from < end) {
                uint256 take = end - from < length - done ? end - from : length - done;
                address pointer = pointers[p];
                uint256 codeOffset = from - chunkStart + 1; // past the STOP byte
                assembly {
                    extcodecopy(pointer, add(add(out, 0x20), done), codeOffset, take)
                }
                done += take;
            }
            chunkStart = end;
        }
        if (done < length) revert OutOfData();
    }

    function _uint(bytes memory data, uint256 at, uint256 size) private pure returns (uint256 value) {
        for (uint256 i = 0; i < size; i++) value = (value << 8) | uint8(data[at + i]);
    }

    // ---- minting ----

    /// @notice Mint the next `quantity` tokens to `to`, ids from FIRST_TOKEN_ID (owner only, after `seal`).
    function mint(address to, uint256 quantity) external onlyOwner {
        if (!isSealed) revert NotSealed();
        if (minted + quantity > N) revert SupplyExceeded();
        for (uint256 i = 0; i < quantity; i++) _mint(to, FIRST_TOKEN_ID + minted + i);
        minted += quantity;
    }

    // ---- rendering ----

    /// @notice The token's metadata as `data:application/json;base64,…`, its image a 24×24 SVG drawn from the data.
    function tokenURI(uint256 id) public view override returns (string memory) {
        _requireOwned(id);
        (bytes memory svg, bytes memory attributes) = render(id);
        bytes memory json = abi.encodePacked(
            _tokenJson[0], id.toString(), _tokenJson[1], "data:image/svg+xml;base64,", Base64.encode(svg), _tokenJson[2]
        );
        json = abi.encodePacked(json, attributes, _tokenJson[3]);
        return string(abi.encodePacked("data:application/json;base64,", Base64.encode(json)));
    }

    /// @notice ERC-7572: the collection's document as `data:application/json;base64,…`.
    function contractURI() external view returns (string memory) {
        return string(abi.encodePacked("data:application/json;base64,", Base64.encode(bytes(_contractJson))));
    }

    /// @notice The token's SVG and its attributes' JSON (comma-joined entries), from the stored data alone.
    /// @dev The SVG is written once into a buffer sized from the images' run counts: appending rect by rect with
    /// `abi.encodePacked` copies the whole SVG per rect, and that quadratic copying and memory was most of the gas.
    function render(uint256 id) public view returns (bytes memory svg, bytes memory attributes) {
        if (id < FIRST_TOKEN_ID || id >= FIRST_TOKEN_ID + N) revert NoSuchToken();
        bytes memory record = _read(TOKENS_START + (id - FIRST_TOKEN_ID) * TRAITS_PER_TOKEN, TRAITS_PER_TOKEN);
        uint256[] memory images;
        if (uint8(record[0]) == 0xFF) {
            images = new uint256[](1);
            images[0] = WHOLE_BASE + _uint(record, 1, TRAITS_PER_TOKEN - 1);
        } else {
            images = new uint256[](TRAITS_PER_TOKEN);
            for (uint256 t = 0; t < TRAITS_PER_TOKEN; t++) images[t] = _traitBases[t] + uint8(record[t]);
        }
        bytes[] memory rles = new bytes[](images.length);
        uint256 bound = bytes(SVG_HEAD).length + bytes(SVG_TAIL).length;
        for (uint256 i = 0; i < images.length; i++) {
            bytes memory entry = _read(IMAGE_TABLE_START + images[i] * 12, 12);
            rles[i] = _read(_uint(entry, 0, 4), _uint(entry, 4, 2));
            bytes memory attr = _read(_uint(entry, 6, 4), _uint(entry, 10, 2));
            if (attr.length > 0) attributes = attributes.length == 0 ? attr : abi.encodePacked(attributes, ",", attr);
            bound += RECT_BYTES * _pieces(rles[i]);
        }
        bytes memory palette = _read(PALETTE_START, IMAGE_TABLE_START - PALETTE_START);
        svg = new bytes(bound);
        uint256 at = _put(svg, 0, bytes(SVG_HEAD));
        for (uint256 i = 0; i < rles.length; i++) at = _drawImage(svg, at, rles[i], palette);
        at = _put(svg, at, bytes(SVG_TAIL));
        assembly {
            mstore(svg, at) // the bound less what was not drawn (transparent runs)
        }
    }

    string private constant SVG_HEAD =
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" shape-rendering="crispEdges">';
    string private constant SVG_TAIL = "</svg>";
    uint256 private constant RECT_BYTES = 64; // '<rect x="…" y="…" width="…" height="1" fill="#rrggbb"/>', 3-digit numbers

    /// @dev At most how many `<rect>`s an image draws: each run, plus one per row end a run crosses.
    function _pieces(bytes memory rle) private pure returns (uint256) {
        if (rle.length < 5) return 0;
        return (rle.length - 5) / 2 + uint8(rle[3]) - uint8(rle[1]) + 1;
    }

    /// @dev One image's runs as `<rect>`s written at `at` (Nouns' RLE: palette byte, top, right, bottom, left, then
    /// (length, colour) pairs, a run cut at `right` continuing on the next row from `left`); returns the new end.
    function _drawImage(bytes memory svg, uint256 at, bytes memory rle, bytes memory palette) private pure returns (uint256) {
        if (rle.length < 5) return at;
        uint256 right = uint8(rle[2]);
        uint256 left = uint8(rle[4]);
        uint256 x = left;
        uint256 y = uint8(rle[1]);
        for (uint256 i = 5; i + 1 < rle.length; i += 2) {
            uint256 remaining = uint8(rle[i]);
            uint256 colour = uint8(rle[i + 1]);
            while (remaining > 0) {
                uint256 width = right - x < remaining ? right - x : remaining;
                if (colour != 0) at = _rect(svg, at, x, y, width, palette, colour);
                x += width;
                remaining -= width;
                if (x == right) {
                    x = left;
                    y++;
                }
            }
        }
        return at;
    }

    function _rect(bytes memory svg, uint256 at, uint256 x, uint256 y, uint256 width, bytes memory palette, uint256 colour)
        private
        pure
        returns (uint256)
    {
        at = _number(svg, _put(svg, at, '<rect x="'), x);
        at = _number(svg, _put(svg, at, '" y="'), y);
        at = _number(svg, _put(svg, at, '" width="'), width);
        at = _put(svg, at, '" height="1" fill="#');
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < 3; i++) {
            uint8 b = uint8(palette[colour * 3 + i]);
            svg[at++] = digits[b >> 4];
            svg[at++] = digits[b & 15];
        }
        return _put(svg, at, '"/>');
    }

    /// @dev `value` (< 1000: a coordinate or width is a byte) in decimal at `at`; returns the new end.
    function _number(bytes memory svg, uint256 at, uint256 value) private pure returns (uint256) {
        if (value >= 100) svg[at++] = bytes1(uint8(48 + value / 100));
        if (value >= 10) svg[at++] = bytes1(uint8(48 + (value / 10) % 10));
        svg[at++] = bytes1(uint8(48 + value % 10));
        return at;
    }

    /// @dev `piece` copied into `buffer` at `at` (MCOPY, Cancun); returns the new end. The caller sized `buffer`.
    function _put(bytes memory buffer, uint256 at, bytes memory piece) private pure returns (uint256) {
        assembly {
            mcopy(add(add(buffer, 0x20), at), add(piece, 0x20), mload(piece))
        }
        return at + piece.length;
    }
}
