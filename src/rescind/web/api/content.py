"""`POST /v1/content` and `DELETE /v1/content/{content_id}`: register or forget content."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from rescind.platform.errors import PlatformError
from rescind.platform.registry import forget_content
from rescind.platform.registry_writer import register_contents
from rescind.web.api.auth import ContentCaller
from rescind.web.api.common import JSON_BODY_LIMIT, content_item, problem, read_json
from rescind.web.api.openapi import api_doc, schema_ref
from rescind.web.api.schemas import ContentBatchIn, ContentBatchOut
from rescind.web.deps import SessionDep, get_db

router = APIRouter(prefix="/v1", tags=["content"])


@router.post(
    "/content",
    response_model=ContentBatchOut,
    summary="Register content in bulk (backfill)",
    **api_doc(
        "content", 413, 422, body={"application/json": {"schema": schema_ref(ContentBatchIn)}}
    ),
)
async def register(request: Request, caller: ContentCaller) -> ContentBatchOut:
    """Record up to 1,000 items and their hashes, so later removals find every copy.
    All or nothing: one bad item fails the call, naming its field."""
    body: ContentBatchIn = await read_json(request, ContentBatchIn, 4 * JSON_BODY_LIMIT)
    try:
        items = [content_item(i, f"items.{n}.") for n, i in enumerate(body.items)]
    except PlatformError as exc:
        raise problem(exc) from None

    def run() -> int:
        with get_db(request).session() as session:
            return len(register_contents(session, items))

    return ContentBatchOut(registered=await run_in_threadpool(run))


@router.delete(
    "/content/{content_id}",
    status_code=204,
    summary="Forget content",
    **api_doc("content", 404, 422),
)
def forget(content_id: str, session: SessionDep, caller: ContentCaller) -> Response:
    """The item was deleted on the platform: drop its URL and hashes from the registry."""
    try:
        forget_content(session, content_id)
    except PlatformError as exc:
        raise problem(exc) from None
    return Response(status_code=204)
