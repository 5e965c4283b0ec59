"""Agent types and their tools."""
from __future__ import annotations

from app.agents.registry import AGENTS
from app.agents.tools import TOOLS
from app.api.deps import RateLimited, SettingsDep
from app.api.routing import api_router
from app.errors import responses
from app.schemas import AgentList, AgentOut, ToolOut

router = api_router(prefix="/v1/agents", tags=["agents"], dependencies=[RateLimited])


@router.get("", response_model=AgentList, responses=responses(429), summary="List the agent types and their tools")
def list_agents(settings: SettingsDep) -> AgentList:
    return AgentList(agents=[
        AgentOut(
            name=spec.name, description=spec.description, max_steps=spec.max_steps or settings.AGENT_MAX_STEPS,
            tools=[ToolOut(name=t, description=TOOLS[t].description, input_schema=TOOLS[t].schema())
                   for t in spec.tools],
        )
        for spec in AGENTS.values()
    ])
