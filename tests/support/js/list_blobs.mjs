// Lists a directory with @azure/storage-blob, as a JavaScript client of Azure would, and
// downloads every blob it lists. Usage: node list_blobs.mjs CONTAINER_URL SAS PREFIX
// Prints one JSON array: [{name, size, etag, downloaded}], downloaded = bytes read.
import { ContainerClient } from "@azure/storage-blob";

const [containerUrl, sas, prefix] = process.argv.slice(2);
const client = new ContainerClient(`${containerUrl}?${sas}`);
const listed = [];
for await (const blob of client.listBlobsFlat({ prefix })) {
  const body = await client.getBlobClient(blob.name).downloadToBuffer();
  listed.push({
    name: blob.name,
    size: blob.properties.contentLength,
    etag: blob.properties.etag,
    downloaded: body.length,
  });
}
console.log(JSON.stringify(listed));
