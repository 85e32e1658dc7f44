// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
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
    function render(uint256 id) public view returns (bytes memory svg, bytes memory attributes) {
        if (id < FIRST_TOKEN_ID || id >= FIRST_TOKEN_ID + N) revert NoSuchToken();
        bytes memory record = _read(TOKENS_START + (id - FIRST_TOKEN_ID) * TRAITS_PER_TOKEN, TRAITS_PER_TOKEN);
        bytes memory palette = _read(PALETTE_START, IMAGE_TABLE_START - PALETTE_START);
        svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" shape-rendering="crispEdges">';
        if (uint8(record[0]) == 0xFF) {
            uint256 image = WHOLE_BASE + _uint(record, 1, TRAITS_PER_TOKEN - 1);
            (bytes memory rects, bytes memory attr) = _drawImage(image, palette);
            svg = abi.encodePacked(svg, rects);
            attributes = attr;
        } else {
            for (uint256 t = 0; t < TRAITS_PER_TOKEN; t++) {
                (bytes memory rects, bytes memory attr) = _drawImage(_traitBases[t] + uint8(record[t]), palette);
                svg = abi.encodePacked(svg, rects);
                if (attr.length > 0) attributes = attributes.length == 0 ? attr : abi.encodePacked(attributes, ",", attr);
            }
        }
        svg = abi.encodePacked(svg, "</svg>");
    }

    /// @dev One image's runs as `<rect>`s (Nouns' RLE: palette byte, top, right, bottom, left, then (length, colour)
    /// pairs, a run cut at `right` continuing on the next row from `left`), and its attributes entry.
    function _drawImage(uint256 image, bytes memory palette) private view returns (bytes memory rects, bytes memory attr) {
        bytes memory entry = _read(IMAGE_TABLE_START + image * 12, 12);
        bytes memory rle = _read(_uint(entry, 0, 4), _uint(entry, 4, 2));
        attr = _read(_uint(entry, 6, 4), _uint(entry, 10, 2));
        if (rle.length < 5) return (rects, attr);
        uint256 right = uint8(rle[2]);
        uint256 left = uint8(rle[4]);
        uint256 x = left;
        uint256 y = uint8(rle[1]);
        for (uint256 i = 5; i + 1 < rle.length; i += 2) {
            uint256 remaining = uint8(rle[i]);
            uint256 colour = uint8(rle[i + 1]);
            while (remaining > 0) {
                uint256 width = right - x < remaining ? right - x : remaining;
                if (colour != 0) rects = abi.encodePacked(rects, _rect(x, y, width, palette, colour));
                x += width;
                remaining -= width;
                if (x == right) {
                    x = left;
                    y++;
                }
            }
        }
    }

    function _rect(uint256 x, uint256 y, uint256 width, bytes memory palette, uint256 colour)
        private
        pure
        returns (bytes memory)
    {
        bytes memory hexColour = new bytes(6);
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < 3; i++) {
            uint8 b = uint8(palette[colour * 3 + i]);
            hexColour[2 * i] = digits[b >> 4];
            hexColour[2 * i + 1] = digits[b & 15];
        }
        return abi.encodePacked(
            '<rect x="', x.toString(), '" y="', y.toString(), '" width="', width.toString(), '" height="1" fill="#', hexColour, '"/>'
        );
    }
}
